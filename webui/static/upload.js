// Uploads that survive a weak connection (forms with class "retry-upload"): the form is sent
// in the background and, when the network drops before the server answers, sent again up to
// five times with growing pauses, the officer told each time. Without JavaScript the form
// posts as usual.
(function () {
  "use strict";
  var MAX_TRIES = 6;

  function send(form, status, attempt) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        status.textContent = "正在上传：" + Math.round(e.loaded * 100 / e.total) + "%" +
          (attempt > 1 ? "（第 " + attempt + " 次尝试）" : "");
      }
    };
    xhr.onload = function () {
      // The server's answer replaces the page: the page it redirected to, with its message
      // (shown once, so not loaded again), or the form with a Chinese error.
      if (xhr.responseURL && xhr.responseURL !== form.action) {
        window.history.replaceState(null, "", xhr.responseURL);
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    };
    xhr.onerror = xhr.ontimeout = function () {
      if (attempt >= MAX_TRIES) {
        status.textContent = "网络连接中断，已尝试 " + attempt + " 次仍未上传成功。文件仍在本页，请到信号较好的地方再点“上传”。";
        form.querySelector("button[type=submit]").disabled = false;
        return;
      }
      var wait = Math.min(30, Math.pow(2, attempt));
      status.textContent = "网络连接中断，" + wait + " 秒后自动重试（第 " + (attempt + 1) + " 次）……";
      window.setTimeout(function () { send(form, status, attempt + 1); }, wait * 1000);
    };
    xhr.send(new FormData(form));
  }

  document.querySelectorAll("form.retry-upload").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var status = form.querySelector(".upload-status");
      if (!status || !window.FormData) return;
      event.preventDefault();
      status.hidden = false;
      status.textContent = "正在上传……";
      form.querySelector("button[type=submit]").disabled = true;
      send(form, status, 1);
    });
  });
})();
