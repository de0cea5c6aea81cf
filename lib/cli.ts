console.log("fastipc cli: not yet");
