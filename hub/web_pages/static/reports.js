// The report page's charts, drawn with Apache ECharts (served by the hub: /admin/reports/echarts.min.js) from the
// report's own figures (#report-data, the same JSON as /admin/reports.json), and the form's small helpers.
(function () {
  "use strict";
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const minutes = (seconds) => (seconds === null || seconds === undefined ? null : Math.round(seconds / 6) / 10);
  const percent = (share) => (share === null || share === undefined ? null : Math.round(share * 1000) / 10);

  function options(report, words) {
    const name = (row) => (words.english ? row.label_en : row.label_zh);
    const bucket = (b) => {
      const low = Math.round(b.low / 60);
      return b.high === null ? `≥${low}` : `${low}–${Math.round(b.high / 60)}`;
    };
    const base = { animation: false, tooltip: { trigger: "axis" }, grid: { left: 48, right: 48, top: 64, bottom: 32, containLabel: true } };
    return {
      hours: {
        ...base,
        legend: { top: 0, data: [words.arrivals, words.mean_wait] },
        xAxis: { type: "category", data: report.hours.map((h) => `${String(h.hour).padStart(2, "0")}:00`) },
        yAxis: [{ type: "value", name: words.tickets }, { type: "value", name: words.minutes }],
        series: [
          { name: words.arrivals, type: "bar", data: report.hours.map((h) => h.arrivals) },
          { name: words.mean_wait, type: "line", yAxisIndex: 1, data: report.hours.map((h) => minutes(h.mean_wait)) },
        ],
      },
      waits: {
        ...base,
        xAxis: { type: "category", name: words.minutes, data: report.waits.map(bucket) },
        yAxis: { type: "value", name: words.tickets },
        series: [{ name: words.tickets, type: "bar", data: report.waits.map((b) => b.count) }],
      },
      days: {
        ...base,
        legend: { top: 0, data: [words.ratings, words.satisfied] },
        xAxis: { type: "category", data: report.days.map((d) => d.day) },
        yAxis: [{ type: "value", name: words.ratings }, { type: "value", name: "%", min: 0, max: 100 }],
        series: [
          { name: words.ratings, type: "bar", data: report.days.map((d) => d.ratings) },
          { name: words.satisfied, type: "line", yAxisIndex: 1, data: report.days.map((d) => percent(d.satisfied)) },
        ],
      },
      sites: {
        ...base,
        legend: { top: 0, data: [words.issued, words.served, words.mean_wait] },
        xAxis: { type: "category", data: report.sites.map(name), axisLabel: { interval: 0, rotate: report.sites.length > 3 ? 20 : 0 } },
        yAxis: [{ type: "value", name: words.tickets }, { type: "value", name: words.minutes }],
        series: [
          { name: words.issued, type: "bar", data: report.sites.map((s) => s.figures.issued) },
          { name: words.served, type: "bar", data: report.sites.map((s) => s.figures.served) },
          { name: words.mean_wait, type: "line", yAxisIndex: 1, data: report.sites.map((s) => minutes(s.figures.wait.mean)) },
        ],
      },
    };
  }

  function draw() {
    const report = read("report-data");
    const words = read("report-words");
    const all = options(report, words);
    const charts = [];
    for (const element of document.querySelectorAll("[data-chart]")) {
      const chart = echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(all[element.dataset.chart]);
      element.dataset.drawn = "yes";
      charts.push(chart);
    }
    const resize = () => charts.forEach((chart) => chart.resize());
    window.addEventListener("resize", resize);
    window.addEventListener("beforeprint", resize);
    window.addEventListener("afterprint", resize);
  }

  function form() {
    const chosen = document.querySelector("[data-report-form] select[name=period]");
    const show = () => {
      for (const field of document.querySelectorAll("[data-for-period]")) {
        field.hidden = !field.dataset.forPeriod.split(" ").includes(chosen.value);
      }
    };
    if (chosen) {
      chosen.addEventListener("change", show);
      show();
    }
    for (const button of document.querySelectorAll("[data-print]")) button.addEventListener("click", () => window.print());
  }

  document.addEventListener("DOMContentLoaded", () => {
    form();
    draw();
  });
})();
