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
