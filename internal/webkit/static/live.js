// Live statuses: an element with data-live (the URL of a server-sent event stream) makes the page
// reload itself when the stream says something changed. Without JavaScript nothing happens here and the
// page is reloaded by hand; the page says so.
(function () {
  "use strict";
  var el = document.querySelector("[data-live]");
  if (!el || !window.EventSource) return;
  var es = new EventSource(el.dataset.live);
  es.addEventListener("change", function () {
    es.close();
    if (el.dataset.updated) el.textContent = el.dataset.updated;
    // Keep what the person is doing: a page with a form being filled in is not reloaded under them.
    var busy = document.activeElement && document.activeElement.closest("form");
    if (busy) return;
    window.location.reload();
  });
})();
