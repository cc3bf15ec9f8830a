/* 年度行政执法数据: cases by kind as a bar chart (chart.js, served by the site); the table holds every figure. */
(function () {
  var data = JSON.parse(document.getElementById('annual-data').textContent);
  var canvas = document.getElementById('annual-chart');
  if (!window.Chart || !canvas) { return; }
  new window.Chart(canvas, {
    type: 'bar',
    data: { labels: data.labels, datasets: [{ label: '案件数（件）', data: data.values, backgroundColor: '#a61b1b' }] },
    options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
               scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  canvas.setAttribute('data-rendered', 'true');
})();
