// A 笔录's preview frame takes room on the page only once a preview is asked for.
document.addEventListener("submit", (event) => {
  const target = event.submitter && event.submitter.getAttribute("formtarget");
  if (!target) return;
  const frame = document.querySelector(`iframe.note-preview[name="${CSS.escape(target)}"]`);
  if (frame) frame.hidden = false;
});
