{
  "targets": [
    {
      "target_name": "fastipc",
      "sources": ["shim/futex.c", "shim/shm.c", "shim/proc.c", "shim/waiter.c", "shim/binding.c"],
      "libraries": ["-lpthread"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [["OS!='linux'", { "type": "none" }]]
    }
  ]
}
