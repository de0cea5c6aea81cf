{
  "targets": [
    {
      "target_name": "fastipc",
      "sources": [
        "shim/sys/futex.c",
        "shim/sys/shm.c",
        "shim/sys/proc.c",
        "shim/sys/waiter.c",
        "shim/sys/waiter-fallback.c",
        "shim/sys/waiter-api.c",
        "shim/napi/module.c",
        "shim/napi/args.c",
        "shim/napi/errors.c",
        "shim/napi/futex.c",
        "shim/napi/memory.c",
        "shim/napi/process.c"
      ],
      "libraries": ["-lpthread"],
      "cflags": ["-std=gnu11", "-O2", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [["OS!='linux'", { "type": "none" }]]
    }
  ]
}
