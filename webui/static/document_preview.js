// Live preview of the task's document: after typing stops, the form's values (not its
// files) are posted to the preview URL, the PDF shown in the frame and the list of what
// 签发 still needs brought up to date.
(function () {
  const frame = document.getElementById("document-preview");
  const form = document.getElementById("task-form");
  if (!frame || !form || !document.getElementById("document-preview-button")) return;
  let timer = null, current = null;
  async function refresh() {
    const data = new FormData(form);
    for (const [key, value] of [...data.entries()]) if (value instanceof File) data.delete(key);
    frame.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(frame.dataset.url, {method: "POST", body: data, credentials: "same-origin"});
      const blob = await response.blob();
      if (current) URL.revokeObjectURL(current);
      current = URL.createObjectURL(blob);
      frame.src = current;
      frame.dataset.status = response.ok ? "ok" : "error";
      showMissing(response.headers.get("X-Document-Missing"));
    } finally {
      frame.removeAttribute("aria-busy");
    }
  }
  function showMissing(header) {
    const box = document.getElementById("document-missing");
    if (!box || header === null) return;
    const missing = JSON.parse(decodeURIComponent(header));
    const list = box.querySelector("ul");
    list.replaceChildren(...missing.map((text) => Object.assign(document.createElement("li"), {textContent: text})));
    box.hidden = missing.length === 0;
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 1200); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
})();
