/* Diagram badges and heatmap (bpmn-js) and throughput charts (chart.js); the numbers
   are also in the tables of each page, which work without JavaScript. */
(function () {
  "use strict";
  function json(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }

  function versionSelect() {  // (no inline handler: the page CSP allows scripts from files only)
    var select = document.getElementById("version-select");
    if (!select) return;
    select.addEventListener("change", function () { location.href = select.dataset.base + select.value; });
  }

  function diagram() {
    var host = document.getElementById("diagram");
    if (!host || typeof BpmnJS === "undefined") return;
    var xml = json("diagram-xml"), badges = json("diagram-badges") || {}, heat = json("diagram-heat") || {};
    var viewer = new BpmnJS({ container: host });
    viewer.importXML(xml).then(function () {
      var canvas = viewer.get("canvas"), overlays = viewer.get("overlays"), registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport");
      Object.keys(heat).forEach(function (id) {
        if (registry.get(id)) canvas.addMarker(id, "heat-" + heat[id].level);
      });
      Object.keys(badges).forEach(function (id) {
        if (!registry.get(id)) return;
        var a = document.createElement("a");
        a.className = "token-badge";
        a.textContent = String(badges[id]);
        a.href = host.dataset.listUrl + "?definition=" + encodeURIComponent(host.dataset.definition) + "&step=" + encodeURIComponent(id);
        a.title = "停留在此环节的案件：" + badges[id] + " 件（点击查看）";
        a.setAttribute("data-element", id);
        overlays.add(id, "token-count", { position: { bottom: 10, right: 10 }, html: a });
      });
      host.dataset.ready = "1";
    }).catch(function (err) {
      host.innerHTML = "";
      var p = document.createElement("p");
      p.className = "load-error";
      var message = err && err.message ? err.message : String(err);
      p.textContent = /no diagram to display/.test(message)
        ? "该模型文件没有图形布局（BPMNDiagram），无法显示流程图；各环节数据见下表。"
        : "流程图无法显示：" + message;
      host.appendChild(p);
    });
  }

  var COLORS = ["#1f5fa8", "#2f9e44", "#e8590c", "#7048e8", "#c2255c", "#0c8599", "#5c940d", "#862e9c"];

  function periodChart(id, data, processes, type) {
    var el = document.getElementById(id);
    if (!el) return;
    var datasets = [];
    processes.forEach(function (p, i) {
      var color = COLORS[i % COLORS.length];
      datasets.push({ label: p[1] + " 发起", data: data.started[p[0]], borderColor: color, backgroundColor: color, tension: 0.2 });
      datasets.push({ label: p[1] + " 办结", data: data.finished[p[0]], borderColor: color, backgroundColor: color + "66",
                      borderDash: [5, 4], tension: 0.2 });
    });
    new Chart(el, { type: type, data: { labels: data.labels, datasets: datasets },
      options: { maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
  }

  function charts() {
    var data = json("throughput-data");
    if (!data || typeof Chart === "undefined") return;
    periodChart("chart-months", data.months, data.processes, "bar");
    periodChart("chart-weeks", data.weeks, data.processes, "line");
    var steps = document.getElementById("chart-steps");
    if (steps) new Chart(steps, { type: "bar", data: { labels: data.steps.map(function (s) { return s.label; }), datasets: [
        { label: "平均用时（天）", data: data.steps.map(function (s) { return s.mean_days; }), backgroundColor: "#1f5fa8" },
        { label: "90% 用时（天）", data: data.steps.map(function (s) { return s.p90_days; }), backgroundColor: "#ffa94d" }] },
      options: { indexAxis: "y", maintainAspectRatio: false, animation: false } });
    var reviews = document.getElementById("chart-reviews");
    if (reviews) new Chart(reviews, { type: "bar", data: { labels: data.reviews.labels, datasets: [
        { label: "通过", data: data.reviews.approved, backgroundColor: "#2f9e44" },
        { label: "退回补充调查", data: data.reviews.reinvestigate, backgroundColor: "#e8590c" },
        { label: "退回修改", data: data.reviews.revise, backgroundColor: "#f59f00" }] },
      options: { maintainAspectRatio: false, animation: false,
                 scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } } });
    document.body.dataset.chartsReady = "1";
  }

  versionSelect();
  diagram();
  charts();
})();
