// draftgate review console: the little behaviour the pages need, and nothing more.
// Everything works without it (hover and keyboard focus show a finding's details);
// the script adds tap-to-toggle on phones, links the findings list to the text,
// and refreshes a draft page while its publication is queued.
(function () {
  "use strict";

  function closeAll(except) {
    document.querySelectorAll("mark.hl.open").forEach(function (m) {
      if (m !== except) m.classList.remove("open");
    });
  }

  document.addEventListener("click", function (event) {
    var mark = event.target.closest("mark.hl");
    if (mark) {
      closeAll(mark);
      mark.classList.toggle("open");
      return;
    }
    closeAll(null);
    var item = event.target.closest("li.finding");
    if (item) {
      var index = item.getAttribute("data-finding");
      var target = Array.prototype.find.call(document.querySelectorAll("mark.hl"), function (m) {
        return m.getAttribute("data-findings").split(" ").indexOf(index) >= 0;
      });
      if (target) {
        target.scrollIntoView({ behavior: "smooth", block: "center" });
        target.classList.remove("flash-mark");
        void target.offsetWidth; // restart the animation
        target.classList.add("flash-mark");
      }
    }
  });

  // Destructive admin forms (removing a blocklist term) ask first.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeAll(null);
  });

  // An approved draft is handed to the platform within seconds: show the outcome without a manual reload.
  var publication = document.getElementById("publication");
  if (publication && publication.getAttribute("data-state") === "queued") {
    setTimeout(function () { window.location.reload(); }, 2000);
  }
})();
