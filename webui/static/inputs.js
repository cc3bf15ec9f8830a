// Date fields and file pickers in Chinese whatever the browser's language (templates/_inputs.html):
// a 日历 button next to every date field opens a month calendar, and a file picker shows the
// names of the chosen files. Without JavaScript the fields are typed as 年-月-日 and still work.
(function () {
  "use strict";
  var WEEKDAYS = ["一", "二", "三", "四", "五", "六", "日"];

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function iso(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }

  function parse(text) {
    var m = /^(\d{4})-(\d{1,2})-(\d{1,2})/.exec((text || "").trim());
    if (!m) return null;
    var d = new Date(+m[1], +m[2] - 1, +m[3]);
    return d.getMonth() === +m[2] - 1 ? d : null;
  }

  function set(input, day) {
    var value = iso(day);
    if (input.classList.contains("datetime")) {
      var time = /\d{1,2}:\d{2}$/.exec(input.value);
      var now = new Date();
      value += " " + (time ? time[0] : pad(now.getHours()) + ":" + pad(now.getMinutes()));
    }
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function button(text, label, onclick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("click", onclick);
    return b;
  }

  function calendar(input, toggle) {
    var box = document.createElement("div");
    box.className = "calendar";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "选择日期");
    box.hidden = true;
    var shown = parse(input.value) || new Date();
    var month = new Date(shown.getFullYear(), shown.getMonth(), 1);
    var title = document.createElement("strong");
    var grid = document.createElement("div");
    grid.className = "days";

    function close() { box.hidden = true; toggle.setAttribute("aria-expanded", "false"); }

    function draw() {
      title.textContent = month.getFullYear() + "年" + (month.getMonth() + 1) + "月";
      grid.textContent = "";
      WEEKDAYS.forEach(function (w) {
        var head = document.createElement("span");
        head.className = "weekday";
        head.textContent = w;
        grid.appendChild(head);
      });
      var lead = (month.getDay() + 6) % 7;  // weeks start on Monday
      for (var i = 0; i < lead; i++) grid.appendChild(document.createElement("span"));
      var picked = parse(input.value), today = iso(new Date());
      for (var d = new Date(month); d.getMonth() === month.getMonth(); d.setDate(d.getDate() + 1)) {
        var day = new Date(d);
        var b = button(String(day.getDate()), day.getFullYear() + "年" + (day.getMonth() + 1) + "月" + day.getDate() + "日",
          (function (chosen) { return function () { set(input, chosen); close(); input.focus(); }; })(day));
        if (picked && iso(day) === iso(picked)) b.className = "picked";
        if (iso(day) === today) b.classList.add("today");
        grid.appendChild(b);
      }
    }

    var head = document.createElement("div");
    head.className = "head";
    head.appendChild(button("‹", "上一月", function () { month.setMonth(month.getMonth() - 1); draw(); }));
    head.appendChild(title);
    head.appendChild(button("›", "下一月", function () { month.setMonth(month.getMonth() + 1); draw(); }));
    var foot = document.createElement("div");
    foot.className = "foot";
    foot.appendChild(button("今天", null, function () { set(input, new Date()); close(); }));
    foot.appendChild(button("清除", null, function () {
      input.value = "";
      input.dispatchEvent(new Event("input", { bubbles: true }));
      close();
    }));
    foot.appendChild(button("关闭", null, close));
    box.appendChild(head);
    box.appendChild(grid);
    box.appendChild(foot);

    return {
      box: box,
      toggle: function () {
        if (!box.hidden) { close(); return; }
        var current = parse(input.value) || new Date();
        month = new Date(current.getFullYear(), current.getMonth(), 1);
        draw();
        box.hidden = false;
        toggle.setAttribute("aria-expanded", "true");
      },
      close: close
    };
  }

  document.querySelectorAll("input.date, input.datetime").forEach(function (input) {
    if (input.readOnly || input.disabled) return;
    var wrap = document.createElement("span");
    wrap.className = "date-wrap";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    var toggle = button("日历", "打开日历选择日期", function () { picker.toggle(); });
    toggle.className = "date-pick";
    toggle.setAttribute("aria-expanded", "false");
    var picker = calendar(input, toggle);
    wrap.appendChild(toggle);
    wrap.appendChild(picker.box);
    wrap.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !picker.box.hidden) { picker.close(); toggle.focus(); }
    });
    document.addEventListener("click", function (e) { if (!wrap.contains(e.target)) picker.close(); });
  });

  document.querySelectorAll(".file-pick input[type=file]").forEach(function (input) {
    var names = input.parentNode.querySelector(".file-names");
    input.addEventListener("change", function () {
      var files = Array.prototype.map.call(input.files, function (f) { return f.name; });
      names.textContent = files.length ? "已选择：" + files.join("、") : "未选择文件";
    });
  });
})();
