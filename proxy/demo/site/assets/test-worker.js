/* Zerkalo test worker: its requests must reach the mirror alone. It asks
   every half second for ten seconds, so that a test which attaches to the
   worker late (the browser announces it first) still records a request. */
var pings = 0;
var timer = setInterval(function () {
  fetch("/zerkalo-test/worker-ping").catch(function () {});
  if (++pings >= 20) clearInterval(timer);
}, 500);
