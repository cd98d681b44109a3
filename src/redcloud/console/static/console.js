// Red Cloud console: the little behaviour htmx does not give. No inline scripts (CSP).
// A form or button with data-confirm asks before it goes.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset.confirm || (event.submitter && event.submitter.dataset.confirm);
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
