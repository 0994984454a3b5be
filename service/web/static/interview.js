// The interview with JavaScript on: progressive enhancement only. Every screen is still a plain
// form post carrying the answers so far; without this file the interview works the same.
// - Focus moves to the problems, or to the screen's heading, so a screen reader reads the new
//   screen from its start (each screen is a new page).
// - On a screen with one word question, choosing an answer with a click or tap moves on (the
//   page says so). A keyboard choice does not: arrow keys move through the answers, and moving
//   on at the first arrow press would skip the others; Enter or the Next button moves on.
"use strict";
(function () {
  var problems = document.getElementById("problems");
  var title = document.getElementById("screen-title");
  var target = problems || title;
  if (target) {
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: !problems });
  }

  var form = document.getElementById("interview");
  var next = document.getElementById("next");
  if (!form || !next || form.getAttribute("data-questions") !== "1") {
    return;
  }
  var radios = form.querySelectorAll("fieldset.q input[type=radio]");
  if (radios.length === 0) {
    return;
  }
  var note = document.getElementById("auto-next");
  if (note) {
    note.hidden = false;
  }
  var byPointer = false;
  form.addEventListener("pointerdown", function () { byPointer = true; });
  form.addEventListener("keydown", function () { byPointer = false; });
  for (var i = 0; i < radios.length; i++) {
    radios[i].addEventListener("change", function () {
      if (!byPointer) {
        return;
      }
      if (typeof form.requestSubmit === "function") {
        form.requestSubmit(next); // posts go=next, as the button does
      } else {
        next.click();
      }
    });
  }
})();
