// The intake form with JavaScript on: questions asked only in some situations (clinical.md 2.2,
// rules/ruleset.yaml asked_when) appear only in their situation, and the form is answered in
// place (POST /result returns the result fragment). Without this file the form still works:
// every question is shown and a plain POST / answers with the whole page.
"use strict";
(function () {
  var form = document.getElementById("intake");
  var result = document.getElementById("result");
  if (!form || !result) {
    return;
  }
  var WHOLE_NUMBER = /^-?\d{1,7}$/;

  // The current answer to one question: "" when unanswered, unknown or left empty.
  function answerOf(name) {
    var control = form.elements.namedItem(name); // a radio group reads as its checked value
    var value = control ? String(control.value || "").trim() : "";
    return value === "unknown" ? "" : value;
  }

  function inRanges(number, text) {
    return (text || "").split(" ").some(function (range) {
      var ends = range.split("-");
      return ends.length === 2 && number >= Number(ends[0]) && number <= Number(ends[1]);
    });
  }

  // The server wrote, for each situational question or fieldset, the question it depends on
  // (data-asked-if) and the answers that ask it: data-asked-values (words) or
  // data-asked-ranges (whole numbers), and data-asked-empty for no answer yet.
  function isAsked(element) {
    var value = answerOf(element.getAttribute("data-asked-if"));
    if (value === "") {
      return element.getAttribute("data-asked-empty") === "yes";
    }
    if (element.hasAttribute("data-asked-values")) {
      return element.getAttribute("data-asked-values").split(" ").indexOf(value) >= 0;
    }
    if (!WHOLE_NUMBER.test(value)) {
      return true; // not a whole number yet: shown; the server names the problem
    }
    var number = parseInt(value, 10);
    if (!inRanges(number, element.getAttribute("data-asked-bounds"))) {
      return true; // out of range: shown, as above
    }
    return inRanges(number, element.getAttribute("data-asked-ranges"));
  }

  var situational = form.querySelectorAll("[data-asked-if]");
  function showSituationalQuestions() {
    // Hidden answers are still posted and read as given, as /v1/triage reads them.
    for (var i = 0; i < situational.length; i++) {
      situational[i].hidden = !isAsked(situational[i]);
    }
  }
  form.addEventListener("input", showSituationalQuestions);
  form.addEventListener("change", showSituationalQuestions);
  showSituationalQuestions();

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    result.setAttribute("aria-busy", "true");
    fetch(form.getAttribute("data-result") || "/result", {
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
