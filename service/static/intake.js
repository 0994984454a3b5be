// The intake form with JavaScript on: injury-only questions appear only after an injury answer,
// and the form is answered in place (POST /result returns the result fragment). Without this
// file the form still works: a plain POST / answers with the whole page.
"use strict";
(function () {
  var form = document.getElementById("intake");
  var onset = document.getElementById("f-onset");
  var injury = document.getElementById("section-injury");
  var result = document.getElementById("result");
  if (!form || !onset || !injury || !result) {
    return;
  }

  function showInjuryQuestions() {
    // Hidden answers are still posted; the server ignores them unless onset is injury.
    injury.hidden = onset.value !== "injury";
  }
  onset.addEventListener("change", showInjuryQuestions);
  showInjuryQuestions();

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    result.setAttribute("aria-busy", "true");
    fetch("/result", {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { "Accept": "text/html" },
      credentials: "same-origin",
      cache: "no-store"
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("text/html") !== 0) {
          throw new Error("not a result fragment");
        }
        return response.text(); // 200 with the answer, or 422 with the field errors
      })
      .then(function (html) {
        result.innerHTML = html; // rendered and escaped by the server's templates
        var box = document.getElementById("result-box");
        if (box) {
          box.focus();
          box.scrollIntoView({ block: "start" });
        }
      })
      .catch(function () {
        form.submit(); // fall back to the plain post
      })
      .finally(function () {
        button.disabled = false;
        result.removeAttribute("aria-busy");
      });
  });
})();
