// 案卷 progress: ask the server every two seconds; reload the page when it is built.
(function () {
  const box = document.getElementById("case-file-progress");
  if (!box) return;
  const bar = box.querySelector("progress"), step = box.querySelector(".step");
  async function poll() {
    const response = await fetch(box.dataset.statusUrl, {credentials: "same-origin"});
    if (!response.ok) return;
    const state = await response.json();
    bar.value = state.progress;
    step.textContent = state.step;
    if (state.status === "done" || state.status === "failed") location.reload();
    else setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
