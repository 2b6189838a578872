/* smsgw console: the live parts of its pages, no build step.
 *
 * - #dashboard[data-live]: figures, tables and uPlot charts from the staff
 *   event stream (/console/events: "history", then one "sample" at a time).
 * - [data-live-messages]: message states from /portal/events ("states");
 *   an id the table does not show yet refetches the list.
 * - [data-usage-chart]: the portal usage chart, drawn from its own table.
 *
 * Text goes in with textContent only: nothing from the server becomes markup.
 */
(function () {
  "use strict";

  var KEEP = 450; // samples on the charts: 15 minutes at one every 2 s
  var COLORS = ["#2457c5", "#18794e", "#b42318", "#8a5a00", "#6b3fa0", "#00777a", "#c2410c", "#475569"];

  function ready(run) {
    if (document.readyState !== "loading") run();
    else document.addEventListener("DOMContentLoaded", run);
  }

  function sum(items, pick) {
    return items.reduce(function (total, item) { return total + pick(item); }, 0);
  }

  function money(micros) {
    return (micros / 1000000).toFixed(2);
  }

  function utc(seconds) {
    return new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ");
  }

  /* One uPlot chart whose series (labels) may change: rebuilt when they do. */
  function LineChart(element, yRange) {
    this.element = element;
    this.yRange = yRange || null;
    this.plot = null;
    this.key = "";
  }

  LineChart.prototype.draw = function (xs, columns) {
    var labels = Object.keys(columns);
    var key = labels.join("\u0000");
    var data = [xs].concat(labels.map(function (label) { return columns[label]; }));
    if (typeof uPlot === "undefined") return;
    if (this.plot && key === this.key) {
      this.plot.setData(data);
      return;
    }
    if (this.plot) this.plot.destroy();
    this.key = key;
    var width = Math.max(280, this.element.clientWidth || 600);
    var series = [{}].concat(labels.map(function (label, i) {
      var dashed = / receipts\/s$/.test(label); // drawn over its submitted line otherwise
      return { label: label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, dash: dashed ? [6, 4] : undefined };
    }));
    var scales = { x: { time: true } };
    if (this.yRange) scales.y = { range: this.yRange };
    this.plot = new uPlot({ width: width, height: 220, series: series, scales: scales }, data, this.element);
  };

  /* Columns of a chart: label -> one value (or null) per sample. */
  function columnsOf(samples, pick) {
    var columns = {};
    samples.forEach(function (sample, index) {
      var values = pick(sample);
      Object.keys(values).forEach(function (label) {
        if (!columns[label]) columns[label] = samples.map(function () { return null; });
        columns[label][index] = values[label];
      });
    });
    return columns;
  }

  var CHARTS = {
    rate: function (sample) {
      var values = {};
      sample.connectors.forEach(function (c) {
        values[c.connector + " submitted/s"] = c.submitted_per_s;
        values[c.connector + " receipts/s"] = c.receipts_per_s;
      });
      return values;
    },
    queue: function (sample) {
      var values = {};
      sample.connectors.forEach(function (c) { values[c.connector] = c.queue; });
      return values;
    },
    ratio: function (sample) {
      var values = {};
      sample.operators.forEach(function (o) {
        values[o.connector] = o.delivered_ratio === null ? null : o.delivered_ratio * 100;
      });
      return values;
    }
  };

  function fillRows(root, name, rows) {
    var body = root.querySelector('[data-rows="' + name + '"]');
    if (!body) return;
    body.replaceChildren();
    if (!rows.length) {
      var empty = document.getElementById("empty-" + name);
      if (empty) body.appendChild(empty.content.cloneNode(true));
      return;
    }
    rows.forEach(function (cells) {
      var tr = document.createElement("tr");
      cells.forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function Dashboard(root) {
    var self = this;
    this.root = root;
    this.samples = [];
    this.charts = {};
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      var name = element.dataset.chart;
      self.charts[name] = new LineChart(element, name === "ratio" ? [0, 100] : null);
    });
    var source = new EventSource(root.dataset.live);
    source.addEventListener("history", function (event) {
      self.samples = JSON.parse(event.data).slice(-KEEP);
      self.show();
    });
    source.addEventListener("sample", function (event) {
      self.samples.push(JSON.parse(event.data));
      if (self.samples.length > KEEP) self.samples.shift();
      self.show();
    });
  }

  Dashboard.prototype.show = function () {
    var samples = this.samples;
    var last = samples[samples.length - 1];
    if (!last) return;
    var c = last.connectors;
    var figures = {
      submitted: sum(c, function (x) { return x.submitted_per_s; }).toFixed(1),
      receipts: sum(c, function (x) { return x.receipts_per_s; }).toFixed(1),
      queue: String(sum(c, function (x) { return x.queue; })),
      in_flight: String(sum(c, function (x) { return x.in_flight; })),
      held_deliveries: String(last.held_deliveries),
      webhooks_held: String(last.webhooks_held),
      credit_alerts: String(last.credit_alerts.length),
      at: utc(last.at)
    };
    this.root.querySelectorAll("[data-figure]").forEach(function (element) {
      var value = figures[element.dataset.figure];
      if (value !== undefined) element.textContent = value;
    });
    fillRows(this.root, "operators", last.operators.map(function (o) {
      var share = o.delivered_ratio === null ? "" : (o.delivered_ratio * 100).toFixed(1) + " %";
      return [o.connector, String(o.receipts), String(o.delivered), share];
    }));
    fillRows(this.root, "credit_alerts", last.credit_alerts.map(function (a) {
      return [a.account, money(a.available), money(a.threshold)];
    }));
    var xs = samples.map(function (s) { return s.at; });
    var charts = this.charts;
    Object.keys(charts).forEach(function (name) {
      if (CHARTS[name]) charts[name].draw(xs, columnsOf(samples, CHARTS[name]));
    });
  };

  /* The portal's message list: states pushed, the list refetched for new ids. */
  function LiveMessages(root) {
    var source = new EventSource(root.dataset.liveMessages);
    var fragment = root.dataset.fragment;
    source.addEventListener("states", function (event) {
      var missing = false;
      JSON.parse(event.data).forEach(function (change) {
        var cell = root.querySelector('[data-testid="state-' + CSS.escape(change.id) + '"]');
        if (!cell) { missing = true; return; }
        cell.textContent = change.state;
        cell.className = "state state-" + change.state;
      });
      if (missing) refetch(root, fragment);
    });
  }

  function refetch(root, url) {
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var parsed = new DOMParser().parseFromString(html, "text/html");
        var table = parsed.querySelector('[data-testid="messages"]');
        var current = root.querySelector('[data-testid="messages"]');
        if (table && current) current.replaceWith(document.adoptNode(table));
      });
  }

  /* The usage chart: one line per state, one point per day of its table. */
  function usageChart(element) {
    var table = document.getElementById(element.dataset.usageChart);
    if (!table || typeof uPlot === "undefined") return;
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-day]"));
    rows.sort(function (a, b) { return a.dataset.day < b.dataset.day ? -1 : 1; });
    var states = (table.dataset.states || "").split(" ").filter(Boolean);
    var xs = rows.map(function (row) { return Date.parse(row.dataset.day + "T00:00:00Z") / 1000; });
    var columns = { messages: rows.map(function (row) { return Number(row.dataset.messages); }) };
    states.forEach(function (state) {
      columns[state] = rows.map(function (row) {
        var cell = row.querySelector('[data-state="' + state + '"]');
        return cell ? Number(cell.textContent) : 0;
      });
    });
    new LineChart(element).draw(xs, columns);
  }

  ready(function () {
    var dashboard = document.getElementById("dashboard");
    if (dashboard && dashboard.dataset.live) new Dashboard(dashboard);
    document.querySelectorAll("[data-live-messages]").forEach(function (root) { new LiveMessages(root); });
    document.querySelectorAll("[data-usage-chart]").forEach(usageChart);
  });
})();
