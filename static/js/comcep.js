/* ComCEP: progressive enhancement only; every feature works without JavaScript.
 * Asks for confirmation before leaving a page whose message form holds unsent text. */
(function () {
  "use strict";
  if (!window.addEventListener || !Array.prototype.some) { return; }
  var forms = Array.prototype.filter.call(
    document.querySelectorAll('form[method="post"], form[method="POST"]'),
    function (form) { return form.querySelector("textarea"); }
  );
  if (!forms.length) { return; }
  // After a preview or a validation error, the text shown is still unsent.
  var resent = !!document.querySelector(".preview, .error-summary");
  var submitting = false;
  var watching = false;

  function unsent() {
    return forms.some(function (form) {
      return Array.prototype.some.call(form.querySelectorAll("textarea, input[type=text]"), function (el) {
        return el.value.trim() !== "" && (el.value !== el.defaultValue || (resent && el.tagName === "TEXTAREA"));
      });
    });
  }

  function onBeforeUnload(event) {
    if (submitting || !unsent()) { return; }
    event.preventDefault();
    event.returnValue = "";
  }

  function watch() {
    if (watching) { return; }
    watching = true;
    window.addEventListener("beforeunload", onBeforeUnload);
  }

  forms.forEach(function (form) {
    form.addEventListener("input", watch);
    form.addEventListener("submit", function () { submitting = true; });
  });
  window.addEventListener("pageshow", function () { submitting = false; });
  if (resent) { watch(); }
})();

/* Suggestions while typing in a field marked data-suggest-url: member names for the
 * recipients of a private message (among those the writer may see), topics for a merge.
 * A list of names separated by commas completes its last one, unless data-suggest-single. */
(function () {
  "use strict";
  if (!window.fetch || !document.querySelectorAll) { return; }
  Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest-url]"), function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    var timer = null;
    var asked = "";

    function fill(head, names) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      names.forEach(function (name) {
        var option = document.createElement("option");
        option.value = head + name;
        list.appendChild(option);
      });
    }

    function suggest() {
      var value = input.value;
      var single = input.hasAttribute("data-suggest-single");
      var cut = single ? 0 : value.lastIndexOf(",") + 1;
      var head = cut ? value.slice(0, cut).replace(/\s*$/, " ") : "";
      var typed = value.slice(cut).trim();
      if (typed.length < 2 || typed === asked) { return; }
      asked = typed;
      var url = input.getAttribute("data-suggest-url") + "?q=" + encodeURIComponent(typed);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { noms: [] }; })
        .then(function (data) { if (asked === typed) { fill(head, data.noms || []); } })
        .catch(function () { /* no suggestions: the field still works as typed */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(suggest, 150);
    });
  });
})();

/* On a phone the forum's links scroll sideways in one row: bring the current one into it
 * (by the row's own scroll, never the page's: an address with #p123 keeps its place). */
(function () {
  "use strict";
  var current = document.querySelector(".main-nav [aria-current=page]");
  if (!current || !current.getBoundingClientRect) { return; }
  var row = current.parentNode.parentNode;
  var beyond = current.getBoundingClientRect().right - row.getBoundingClientRect().right;
  if (beyond > 0) { row.scrollLeft += beyond + 16; }
})();
