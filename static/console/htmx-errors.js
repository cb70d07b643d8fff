// htmx swaps only 2xx answers, so a refusal sent back for an htmx action (a cluster
// error, a record gone) would never show. The console marks such answers, written to be
// shown where the action was, with the HX-Error-Fragment header; those are swapped in like
// any answer. Unmarked 4xx/5xx answers (a Django error page) are still not swapped.
document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  if (xhr.status >= 400 && xhr.getResponseHeader("HX-Error-Fragment")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
