/* Zerkalo demo stand-in for Pangea's loader.b bundle. */
(function () {
  "use strict";
  // Lazy images: Pangea pages ship <img src="" data-src="...">.
  var imgs = document.querySelectorAll("img[data-src]");
  for (var i = 0; i < imgs.length; i++) {
    if (!imgs[i].getAttribute("src")) {
      imgs[i].setAttribute("src", imgs[i].getAttribute("data-src"));
    }
  }
  // Sections load their content at run time from a URL assembled here, so
  // no rewriter can see it in the page: it must work as a root-relative path.
  var parts = ["part", "section", 5, 9228];
  var box = document.getElementById("section-" + parts[2]);
  if (!box || !window.fetch) {
    return;
  }
  fetch("/" + parts.join("/"), { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.text() : ""; })
    .then(function (html) { box.innerHTML = html; box.setAttribute("data-loaded", "1"); });
})();
