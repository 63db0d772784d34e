/* Zerkalo test worker: its requests must reach the mirror alone. */
setTimeout(function () {
  fetch("/zerkalo-test/worker-ping").catch(function () {});
}, 1000);
