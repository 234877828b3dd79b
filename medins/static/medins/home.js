/* The supervisor's charts on the admin's home page (medins.home): each <canvas data-chart="ID">
   is drawn by Chart.js (vendored, static/vendor/chart.js-4.6.2) from the JSON of <script id="ID">. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var fmt = new Intl.NumberFormat(document.documentElement.lang || "zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  function money(value) { return fmt.format(value); }

  function config(spec, canvas) {
    if (spec.type === "payments") {
      return {type: "bar", data: {labels: spec.labels, datasets: spec.datasets}, options: {
        responsive: true, maintainAspectRatio: false,
        scales: {x: {stacked: true}, y: {stacked: true, ticks: {callback: money}}},
        plugins: {tooltip: {callbacks: {label: function (ctx) { return ctx.dataset.label + "：" + money(ctx.parsed.y); }}}}}};
    }
    if (spec.type === "queues") {
      canvas.parentNode.style.height = Math.max(160, spec.labels.length * 24 + 40) + "px";
      return {type: "bar", data: {labels: spec.labels, datasets: [{label: canvas.dataset.label, data: spec.data}]}, options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false,
        scales: {x: {beginAtZero: true, ticks: {precision: 0}}},
        plugins: {legend: {display: false}},
        onClick: function (event, elements) {
          if (elements.length && spec.links[elements[0].index]) { window.location.href = spec.links[elements[0].index]; }
        }}};
    }
    if (spec.type === "recoveries") {  /* claims.supervision.home: findings (count) and amounts (money) by month */
      return {type: "bar", data: {labels: spec.labels, datasets: spec.datasets}, options: {
        responsive: true, maintainAspectRatio: false,
        scales: {count: {type: "linear", position: "left", beginAtZero: true, ticks: {precision: 0}},
                 money: {type: "linear", position: "right", beginAtZero: true, ticks: {callback: money},
                         grid: {drawOnChartArea: false}}}}};
    }
    return {type: "bar", data: {labels: spec.labels, datasets: spec.datasets}, options: {
      responsive: true, maintainAspectRatio: false, scales: {y: {beginAtZero: true}}}};
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    new Chart(canvas, config(spec, canvas));
    canvas.dataset.rendered = "true";
  });
})();
