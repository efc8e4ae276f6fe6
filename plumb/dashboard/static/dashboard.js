/* plumb's dashboard: every page drawn from the JSON API (docs/api.md), which
 * it is one client of.  No library and no network beyond the dashboard's own
 * server; charts on canvas.  Whatever came from a monitored request (names,
 * URLs, arguments, SQL, errors) is put in the page as text (textContent),
 * never as markup.  Routes live after '#': #/overview, #/transactions,
 * #/transaction?name=, #/trace/ID, #/threads, #/xray, #/xray/ID; the window
 * (since, until, host, worker) and the refresh ride in the route's query. */
(function () {
  'use strict';

  var BASE = document.body.getAttribute('data-base') || '/';
  var $ = function (id) { return document.getElementById(id); };
  var WINDOWS = { '30m': 1800, '1h': 3600, '24h': 86400, '7d': 604800 };
  var COLORS = { rpm: '#3b82a0', sql: '#d97706', template: '#16a34a', http: '#7c3aed',
                 code: '#64748b', p50: '#0e7490', p95: '#b3541e', p99: '#9f1239',
                 errors: '#dc2626', hist: '#3b82a0', apdex: '#15803d' };
  var charts = {};      // canvas id -> its x scale, for tests and tooltips
  var refreshTimer = null, pollTimer = null, generation = 0;

  /* ---- the route and its window -------------------------------------- */

  function route() {
    var text = location.hash.replace(/^#/, '') || '/overview';
    var cut = text.indexOf('?');
    var path = cut < 0 ? text : text.slice(0, cut);
    var query = new URLSearchParams(cut < 0 ? '' : text.slice(cut + 1));
    var parts = path.split('/').filter(function (p) { return p; });
    return { page: parts[0] || 'overview', arg: parts.length > 1 ? decodeURIComponent(parts[1]) : null,
             query: query };
  }

  function windowParams(r) {
    var since = r.query.get('since') || '1h', until = r.query.get('until');
    var out = { since: since, host: r.query.get('host') || null, worker: r.query.get('worker') || null };
    if (until) out.until = until;
    return out;
  }

  function windowSeconds(w) {
    if (WINDOWS[w.since]) return WINDOWS[w.since];
    var until = w.until ? Number(w.until) : Date.now() / 1000;
    return Math.max(60, until - Number(w.since));
  }

  // The shortest step that gives at most 240 points (what a chart can show),
  // from steps that divide the store's tiers (minutes, 10 minutes, hours,
  // days), so that a long window is read from its coarser rows.
  var STEPS = [60, 120, 300, 600, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  function stepFor(w) {
    var span = windowSeconds(w);
    for (var i = 0; i < STEPS.length; i++) if (span / STEPS[i] <= 240) return STEPS[i];
    return Math.ceil(span / 240 / 86400) * 86400;
  }

  function href(page, extra) {
    var r = route(), q = new URLSearchParams();
    ['since', 'until', 'host', 'worker', 'refresh'].forEach(function (k) {
      if (r.query.get(k)) q.set(k, r.query.get(k));
    });
    Object.keys(extra || {}).forEach(function (k) {
      if (extra[k] === null || extra[k] === undefined) q.delete(k); else q.set(k, extra[k]);
    });
    var qs = q.toString();
    return '#/' + page + (qs ? '?' + qs : '');
  }

  // The page shown now with some of its query changed: the window's
  // controls keep the page's own arguments (a transaction's name, a
  // thread profile's kind and view).
  function hereWith(extra) {
    var r = route(), query = {};
    r.query.forEach(function (value, key) { query[key] = value; });
    Object.keys(extra).forEach(function (key) { query[key] = extra[key]; });
    return href(r.page + (r.arg ? '/' + encodeURIComponent(r.arg) : ''), query);
  }

  /* ---- the API ----------------------------------------------------------- */

  function query(params) {
    var q = new URLSearchParams();
    Object.keys(params || {}).forEach(function (k) {
      if (params[k] !== null && params[k] !== undefined && params[k] !== '') q.set(k, params[k]);
    });
    var text = q.toString();
    return text ? '?' + text : '';
  }

  function api(path, params, post) {
    var init = { credentials: 'same-origin', headers: { 'Accept': 'application/json' } };
    if (post !== undefined) {
      init.method = 'POST';
      // The header a cross-site form cannot send: the server's proof of intent.
      init.headers['X-Plumb-Request'] = '1';
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(post);
    }
    return fetch(BASE + 'api/v1/' + path + query(params), init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) throw new Error(body.error || ('HTTP ' + response.status));
        return body;
      });
    });
  }

  function reportUrl(path, params) { return BASE + 'report/' + path + query(params); }

  /* ---- formatting and DOM -------------------------------------------------- */

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function fmtMs(ms) {
    if (ms === null || ms === undefined || isNaN(ms)) return '–';
    if (ms >= 10000) return (ms / 1000).toFixed(1) + ' s';
    if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
    if (ms >= 100) return ms.toFixed(0) + ' ms';
    if (ms >= 10) return ms.toFixed(1) + ' ms';
    return ms.toFixed(2) + ' ms';
  }
  function fmtPct(x) { return x === null || x === undefined ? '–' : (x * 100).toFixed(x < 0.1 ? 2 : 1) + '%'; }
  function fmtNum(n) {
    if (n === null || n === undefined) return '–';
    return n >= 100 ? Math.round(n).toLocaleString('en-US') : (Math.round(n * 10) / 10).toString();
  }
  function fmtApdex(a) { return a === null || a === undefined ? '–' : a.toFixed(2); }
  // The apdex of many rows or series points: their scores (the server's,
  // plumb/monitor/apdex.py) weighted by the web requests each scored.
  function apdexOf(items, requests) {
    var n = 0, sum = 0;
    items.forEach(function (it) {
      if (it.apdex === null || it.apdex === undefined) return;
      n += requests(it); sum += it.apdex * requests(it);
    });
    return n ? sum / n : null;
  }
  function fmtTime(t) {
    var d = new Date(t * 1000);
    return d.toLocaleString('en-GB', { hour12: false });
  }
  function fmtClock(t, span) {
    var d = new Date(t * 1000);
    if (span > 2 * 86400) return d.toLocaleDateString('en-GB', { day: '2-digit', month: 'short' });
    var hm = ('0' + d.getHours()).slice(-2) + ':' + ('0' + d.getMinutes()).slice(-2);
    return span < 900 ? hm + ':' + ('0' + d.getSeconds()).slice(-2) : hm;
  }

  function section(title) {
    var s = el('section', 'card');
    if (title) s.appendChild(el('h2', null, title));
    return s;
  }

  function tiles(items) {
    var box = el('div', 'tiles');
    items.forEach(function (it) {
      var t = el('div', 'tile');
      t.setAttribute('data-tile', it[0]);
      add(t, el('div', 'tile-label', it[0]), el('div', 'tile-value', it[1]));
      box.appendChild(t);
    });
    return box;
  }

  /* A sortable table: columns [{key, label, num, value(row), text(row), cell(row)}]. */
  function table(columns, rows, options) {
    options = options || {};
    var t = el('table', 'data'), head = el('thead'), body = el('tbody');
    if (options.id) t.id = options.id;
    var sortKey = options.sort || null, desc = options.desc !== false;
    var hr = el('tr');
    columns.forEach(function (c) {
      var th = el('th', c.num ? 'num' : null, c.label);
      th.setAttribute('data-key', c.key);
      th.addEventListener('click', function () {
        if (sortKey === c.key) desc = !desc; else { sortKey = c.key; desc = !!c.num; }
        fill();
      });
      hr.appendChild(th);
    });
    head.appendChild(hr);
    add(t, head, body);
    function value(c, row) { return c.value ? c.value(row) : row[c.key]; }
    function fill() {
      var sorted = rows.slice();
      var c = columns.filter(function (c) { return c.key === sortKey; })[0];
      if (c) {
        sorted.sort(function (a, b) {
          var x = value(c, a), y = value(c, b);
          if (x === y) return 0;
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          return (x < y ? -1 : 1) * (desc ? -1 : 1);
        });
      }
      Array.prototype.forEach.call(hr.children, function (th) {
        th.className = (th.className.replace(/ ?sorted-(asc|desc)/g, '')) +
          (th.getAttribute('data-key') === sortKey ? ' sorted-' + (desc ? 'desc' : 'asc') : '');
      });
      body.textContent = '';
      sorted.forEach(function (row) {
        var tr = el('tr');
        columns.forEach(function (c) {
          var td = el('td', c.num ? 'num' : (c.cls || null));
          if (c.cell) add(td, c.cell(row));
          else td.textContent = c.text ? c.text(row) : String(value(c, row) === undefined ? '' : value(c, row));
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      if (!sorted.length) {
        var td = el('td', 'empty', options.empty || 'Nothing in this window.');
        td.colSpan = columns.length;
        body.appendChild(add(el('tr'), td));
      }
    }
    fill();
    return t;
  }

  function link(text, target, cls) {
    var a = el('a', cls, text);
    a.href = target;
    return a;
  }

  function frame(src, title) {
    var f = el('iframe', 'report');
    f.src = src;
    f.title = title;
    return f;
  }

  /* ---- plumb's histogram buckets (plumb/monitor/histogram.py, scheme 1) -- */

  function bucketBounds(key) {
    if (key < 32) return [key, key + 1];
    var shift = (key >> 5) - 1, sub = key - shift * 32, w = Math.pow(2, shift);
    return [sub * w, (sub + 1) * w];
  }
  // A bucket stands for the middle of the integers it holds.
  function bucketMiddleMs(key) { var b = bucketBounds(key); return (b[0] + b[1] - 1) / 2 / 1000; }

  // Requests per minute of the part of the window that holds data, as
  // `plumb transactions` counts it (its rows' rpm).
  function rpmOf(series) {
    var busy = series.points.filter(function (p) { return p.count > 0; });
    if (!busy.length) return null;
    var count = busy.reduce(function (a, p) { return a + p.count; }, 0);
    return count / ((busy[busy.length - 1].t - busy[0].t + series.step) / 60);
  }

  function mergeHistograms(points) {
    var merged = {};
    points.forEach(function (p) {
      Object.keys(p.histogram || {}).forEach(function (k) { merged[k] = (merged[k] || 0) + p.histogram[k]; });
    });
    return merged;
  }

  function quantileMs(hist, q) {
    var keys = Object.keys(hist).map(Number).sort(function (a, b) { return a - b; });
    var n = keys.reduce(function (s, k) { return s + hist[k]; }, 0);
    if (!n) return null;
    var rank = Math.max(1, Math.ceil(q * n)), seen = 0;
    for (var i = 0; i < keys.length; i++) {
      seen += hist[keys[i]];
      if (seen >= rank) return bucketMiddleMs(keys[i]);
    }
    return bucketMiddleMs(keys[keys.length - 1]);
  }

  /* ---- charts ---------------------------------------------------------------- */

  var PAD = { left: 58, right: 12, top: 10, bottom: 22 };

  function canvasFor(id, height) {
    var c = el('canvas', 'chart');
    c.id = id;
    c.height = height || 180;
    c.setAttribute('data-chart', id);
    return c;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function prepare(canvas) {
    canvas.width = Math.max(200, canvas.parentNode.clientWidth - 2);
    var ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.font = '11px system-ui, sans-serif';
    return ctx;
  }

  function yAxis(ctx, canvas, max, fmt) {
    var h = canvas.height - PAD.top - PAD.bottom;
    ctx.fillStyle = '#6a6f75';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (var i = 0; i <= 4; i++) {
      var y = PAD.top + h - h * i / 4;
      ctx.fillStyle = '#eceae6';
      ctx.fillRect(PAD.left, Math.round(y), canvas.width - PAD.left - PAD.right, 1);
      ctx.fillStyle = '#6a6f75';
      ctx.fillText(fmt(max * i / 4), PAD.left - 6, y);
    }
  }

  /* A chart over time: stacked bars (one bar per step) and lines.
   * spec: {since, until, step, points, bars: [{value(p), color}], lines: [...], fmt} */
  function timeChart(canvas, spec) {
    var ctx = prepare(canvas);
    var w = canvas.width - PAD.left - PAD.right, h = canvas.height - PAD.top - PAD.bottom;
    // The store's steps start at multiples of the step: so does the plot.
    var since = Math.floor(spec.since / spec.step) * spec.step;
    var span = Math.max(spec.step, Math.ceil(spec.until / spec.step) * spec.step - since);
    var x = function (t) { return PAD.left + (t - since) / span * w; };
    var barW = Math.max(1, spec.step / span * w - (spec.step / span * w > 4 ? 1 : 0));
    var max = 0;
    spec.points.forEach(function (p) {
      var stack = 0;
      (spec.bars || []).forEach(function (b) { stack += b.value(p) || 0; });
      max = Math.max(max, stack);
      (spec.lines || []).forEach(function (l) { var v = l.value(p); if (v > max) max = v; });
    });
    max = spec.max || niceMax(max);
    yAxis(ctx, canvas, max, spec.fmt);
    var y = function (v) { return PAD.top + h - v / max * h; };
    spec.points.forEach(function (p) {
      var base = 0;
      (spec.bars || []).forEach(function (b) {
        var v = b.value(p) || 0;
        if (v <= 0) return;
        var top = y(base + v), bottom = y(base);
        ctx.fillStyle = b.color;
        ctx.fillRect(Math.floor(x(p.t)), top, Math.ceil(barW), Math.max(1, bottom - top));
        base += v;
      });
    });
    (spec.lines || []).forEach(function (l) {
      ctx.strokeStyle = l.color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      var open = false;
      spec.points.forEach(function (p) {
        var v = l.value(p);
        if (v === null || v === undefined) { open = false; return; }
        var px = x(p.t) + barW / 2, py = y(v);
        if (open) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        open = true;
      });
      ctx.stroke();
    });
    // Time labels under the plot.
    ctx.fillStyle = '#6a6f75';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (var i = 0; i <= 4; i++) {
      var t = since + span * i / 4;
      ctx.textAlign = i === 0 ? 'left' : i === 4 ? 'right' : 'center';
      ctx.fillText(fmtClock(t, span), x(t), PAD.top + h + 5);
    }
    charts[canvas.id] = {
      // The canvas x of the middle of the bar of the step holding time t.
      x: function (t) { return x(Math.floor(t / spec.step) * spec.step) + barW / 2; },
      top: PAD.top, bottom: PAD.top + h,
    };
  }

  /* Counts per response time, on a log scale: 4 columns per octave. */
  function histogramChart(canvas, values) {
    var ctx = prepare(canvas);
    var w = canvas.width - PAD.left - PAD.right, h = canvas.height - PAD.top - PAD.bottom;
    var bins = {}, lo = Infinity, hi = -Infinity;
    values.forEach(function (v) {
      if (!(v[0] > 0) || !v[1]) return;
      var b = Math.floor(Math.log2(v[0]) * 4);
      bins[b] = (bins[b] || 0) + v[1];
      lo = Math.min(lo, b); hi = Math.max(hi, b);
    });
    if (lo === Infinity) {
      ctx.fillStyle = '#6a6f75';
      ctx.fillText('No requests in this window.', PAD.left, PAD.top + 20);
      charts[canvas.id] = { bins: {} };
      return;
    }
    lo -= 1; hi += 2;
    var max = 0;
    Object.keys(bins).forEach(function (b) { max = Math.max(max, bins[b]); });
    max = niceMax(max);
    yAxis(ctx, canvas, max, fmtNum);
    var colW = w / (hi - lo);
    var centers = {};
    ctx.fillStyle = COLORS.hist;
    Object.keys(bins).forEach(function (k) {
      var b = Number(k), bh = bins[k] / max * h;
      var left = PAD.left + (b - lo) * colW;
      ctx.fillRect(left + 1, PAD.top + h - bh, Math.max(1, colW - 2), Math.max(1, bh));
      centers[k] = { x: left + colW / 2, count: bins[k] };
    });
    ctx.fillStyle = '#6a6f75';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (var b = Math.ceil(lo / 4) * 4; b <= hi; b += 4 * Math.max(1, Math.round((hi - lo) / 40))) {
      ctx.fillText(fmtMs(Math.pow(2, b / 4)), PAD.left + (b - lo) * colW, PAD.top + h + 5);
    }
    charts[canvas.id] = { bins: centers, top: PAD.top, bottom: PAD.top + h,
                          binOf: function (ms) { return Math.floor(Math.log2(ms) * 4); } };
  }

  function legend(items) {
    var box = el('div', 'legend');
    items.forEach(function (it) {
      var sw = el('i');
      sw.style.background = it[1];
      add(box, add(el('span'), sw, document.createTextNode(it[0])));
    });
    return box;
  }

  // Charts are drawn once their canvas is in the page (they take its width).
  var pendingCharts = [];
  function chart(title, id, draw, legendItems, height) {
    var s = section(title), c = canvasFor(id, height);
    add(s, legendItems ? legend(legendItems) : null, add(el('div', 'chart-box'), c));
    pendingCharts.push(function () { draw(c); });
    return s;
  }

  function perRequest(key) { return function (p) { return p.count ? p[key] / p.count : 0; }; }

  function throughputChart(series, id) {
    return chart('Throughput (requests per minute)', id, function (c) {
      timeChart(c, { since: series.since, until: series.until, step: series.step, points: series.points,
                     bars: [{ value: function (p) { return p.rpm; }, color: COLORS.rpm }], fmt: fmtNum });
    });
  }
  function componentChart(series, id) {
    return chart('Response time by component (mean per request)', id, function (c) {
      timeChart(c, { since: series.since, until: series.until, step: series.step, points: series.points,
                     bars: [{ value: perRequest('sql_ms'), color: COLORS.sql },
                            { value: perRequest('template_ms'), color: COLORS.template },
                            { value: perRequest('http_ms'), color: COLORS.http },
                            { value: perRequest('code_ms'), color: COLORS.code }], fmt: fmtMs });
    }, [['SQL', COLORS.sql], ['templates', COLORS.template], ['outbound HTTP', COLORS.http],
        ['code', COLORS.code]]);
  }
  function percentileChart(series, id) {
    return chart('Response time percentiles', id, function (c) {
      timeChart(c, { since: series.since, until: series.until, step: series.step, points: series.points,
                     lines: [{ value: function (p) { return p.p50_ms; }, color: COLORS.p50 },
                             { value: function (p) { return p.p95_ms; }, color: COLORS.p95 },
                             { value: function (p) { return p.p99_ms; }, color: COLORS.p99 }], fmt: fmtMs });
    }, [['p50', COLORS.p50], ['p95', COLORS.p95], ['p99', COLORS.p99]]);
  }
  function errorChart(series, id) {
    return chart('Error rate', id, function (c) {
      timeChart(c, { since: series.since, until: series.until, step: series.step, points: series.points,
                     bars: [{ value: function (p) { return p.count ? p.errors / p.count : 0; }, color: COLORS.errors }],
                     fmt: fmtPct });
    }, null, 120);
  }
  function apdexChart(series, id) {
    return chart('Apdex', id, function (c) {
      timeChart(c, { since: series.since, until: series.until, step: series.step, points: series.points,
                     lines: [{ value: function (p) { return p.apdex; }, color: COLORS.apdex }],
                     max: 1, fmt: fmtApdex });
    }, null, 120);
  }
  function histogramSection(values, id, title) {
    return chart(title || 'Requests per response time', id, function (c) { histogramChart(c, values); });
  }

  /* ---- parts shared by pages ---------------------------------------------- */

  function transactionLink(name) {
    return link(name, href('transaction', { name: name }), 'tx');
  }

  function transactionColumns() {
    return [
      { key: 'name', label: 'Transaction', cell: function (r) { return transactionLink(r.name); }, cls: 'name' },
      { key: 'kind', label: 'Kind' },
      { key: 'share', label: 'Share', num: true, cell: function (r) {
        var box = el('span', 'share'), bar = el('i');
        bar.style.width = Math.min(100, (r.share || 0) * 100) + '%';
        return add(box, add(el('span', 'share-bar'), bar), el('span', null, fmtPct(r.share)));
      } },
      { key: 'mean_ms', label: 'Mean', num: true, text: function (r) { return fmtMs(r.mean_ms); } },
      { key: 'p95_ms', label: 'p95', num: true, text: function (r) { return fmtMs(r.p95_ms); } },
      { key: 'p99_ms', label: 'p99', num: true, text: function (r) { return fmtMs(r.p99_ms); } },
      { key: 'rpm', label: 'rpm', num: true, text: function (r) { return fmtNum(r.rpm); } },
      { key: 'count', label: 'Requests', num: true, text: function (r) { return fmtNum(r.count); } },
      { key: 'error_rate', label: 'Errors', num: true, text: function (r) { return fmtPct(r.error_rate); } },
      { key: 'apdex', label: 'Apdex', num: true, text: function (r) { return fmtApdex(r.apdex); } },
    ];
  }

  function traceColumns() {
    return [
      { key: 'start', label: 'Time', num: false, cell: function (t) { return link(fmtTime(t.start), href('trace/' + encodeURIComponent(t.id)), 'trace-link'); } },
      { key: 'duration_ms', label: 'Duration', num: true, text: function (t) { return fmtMs(t.duration_ms); } },
      { key: 'name', label: 'Transaction', cls: 'name' },
      { key: 'status', label: 'Status', num: true, text: function (t) { return t.status === null || t.status === undefined ? '' : t.status; } },
      { key: 'url', label: 'URL', cls: 'name', text: function (t) { return t.url || ''; } },
      { key: 'error', label: 'Error', cls: 'name', text: function (t) { return t.error || ''; } },
      { key: 'host', label: 'Host', text: function (t) { return (t.host || '') + (t.pid ? ' · ' + t.pid : ''); } },
    ];
  }

  /* The slowest components: segments by their own time (less the segments
   * they enclose: a view's queries are the queries'), summed across kept
   * traces.  Middleware is left out: its own time is the framework's. */
  function componentsOf(documents) {
    var by = {};
    documents.forEach(function (doc) {
      var open = [], own = [];
      var segments = (doc && doc.segments) || [];
      segments.forEach(function (s, i) {
        while (open.length && segments[open[open.length - 1]].depth >= (s.depth || 0)) open.pop();
        own[i] = s.duration;
        if (open.length) own[open[open.length - 1]] -= s.duration;
        open.push(i);
      });
      var seen = {};
      segments.forEach(function (s, i) {
        if (s.kind === 'middleware') return;
        var k = s.kind + '\u0000' + s.name;
        var row = by[k] || (by[k] = { kind: s.kind, name: s.name, total: 0, count: 0, traces: 0 });
        row.total += Math.max(0, own[i]) * 1000;
        row.count += 1;
        if (!seen[k]) { row.traces += 1; seen[k] = 1; }
      });
    });
    return Object.keys(by).map(function (k) { var r = by[k]; r.mean = r.total / r.count; return r; });
  }

  function componentsSection(traces) {
    var s = section('Slowest components (across the kept traces)');
    var note = el('p', 'note', 'Reading the traces…');
    s.appendChild(note);
    var chosen = traces.slice().sort(function (a, b) { return b.duration_ms - a.duration_ms; }).slice(0, 20);
    Promise.all(chosen.map(function (t) {
      return api('traces/' + encodeURIComponent(t.id)).then(function (x) { return x.document; }, function () { return null; });
    })).then(function (docs) {
      var rows = componentsOf(docs.filter(function (d) { return d; }));
      note.textContent = chosen.length ? 'From the ' + chosen.length + ' slowest kept traces.' : 'No traces kept in this window.';
      s.appendChild(table([
        { key: 'kind', label: 'Kind' },
        { key: 'name', label: 'Component', cls: 'code' },
        { key: 'total', label: 'Own time', num: true, text: function (r) { return fmtMs(r.total); } },
        { key: 'count', label: 'Times', num: true },
        { key: 'mean', label: 'Mean', num: true, text: function (r) { return fmtMs(r.mean); } },
        { key: 'traces', label: 'Traces', num: true },
      ], rows, { sort: 'total', id: 'components', empty: 'No segments in the kept traces.' }));
    });
    return s;
  }

  function breakdownSection(row) {
    var s = section('Breakdown (mean per request)');
    if (!row) { s.appendChild(el('p', 'note', 'No requests in this window.')); return s; }
    var parts = [['SQL', row.sql_ms, COLORS.sql], ['templates', row.template_ms, COLORS.template],
                 ['outbound HTTP', row.http_ms, COLORS.http], ['code', row.code_ms, COLORS.code]];
    var whole = parts.reduce(function (a, p) { return a + (p[1] || 0); }, 0) || 1;
    var bar = el('div', 'breakdown');
    parts.forEach(function (p) {
      var i = el('i');
      i.style.width = ((p[1] || 0) / whole * 100) + '%';
      i.style.background = p[2];
      i.title = p[0] + ' ' + fmtMs(p[1]);
      bar.appendChild(i);
    });
    s.appendChild(bar);
    s.appendChild(table([
      { key: 0, label: 'Component' },
      { key: 1, label: 'Mean per request', num: true, text: function (p) { return fmtMs(p[1]); } },
      { key: 2, label: 'Share', num: true, value: function (p) { return (p[1] || 0) / whole; }, text: function (p) { return fmtPct((p[1] || 0) / whole); } },
    ], parts, { id: 'breakdown' }));
    if (row.sql_count !== undefined) s.appendChild(el('p', 'note', fmtNum(row.sql_count) + ' SQL queries per request'));
    return s;
  }

  function profileSection(title, params) {
    var s = section(title);
    s.appendChild(frame(reportUrl('profile', params), title));
    return s;
  }

  /* ---- pages ----------------------------------------------------------------- */

  function overview(r, w) {
    var step = stepFor(w);
    return Promise.all([api('series', Object.assign({ step: step }, w)), api('transactions', w),
                        w.host ? null : api('hosts', { since: w.since, until: w.until, totals: 1 })]).then(function (got) {
      var series = got[0], rows = got[1].transactions;
      var count = 0, errors = 0, total = 0;
      series.points.forEach(function (p) { count += p.count; errors += p.errors; total += (p.mean_ms || 0) * p.count; });
      var hist = mergeHistograms(series.points);
      var page = el('div');
      add(page, el('h1', null, 'Overview'), tiles([
        ['Requests', fmtNum(count)],
        ['Throughput', fmtNum(rpmOf(series)) + ' rpm'],
        ['Mean', fmtMs(count ? total / count : null)],
        ['p95', fmtMs(quantileMs(hist, 0.95))],
        ['Apdex', fmtApdex(apdexOf(rows, function (row) { return row.count; }))],
        ['Error rate', fmtPct(count ? errors / count : null)],
      ]));
      add(page, add(el('div', 'grid'), throughputChart(series, 'chart-throughput'), componentChart(series, 'chart-components'),
                    percentileChart(series, 'chart-percentiles'), errorChart(series, 'chart-errors')));
      var top = rows.slice().sort(function (a, b) { return (b.share || 0) - (a.share || 0); }).slice(0, 10);
      var s = section('Transactions taking most of the time');
      add(s, table(transactionColumns(), top, { id: 'top-transactions' }),
          link('All transactions', href('transactions'), 'more'));
      page.appendChild(s);
      var hosts = got[2] ? got[2].hosts : [];
      if (hosts.length > 1) page.appendChild(hostBreakdown(hosts, count));
      return page;
    });
  }

  /* Each host's share of the window's requests (all hosts chosen, more
   * than one wrote): a host's name leads to the overview of that host. */
  function hostBreakdown(hosts, count) {
    var rows = hosts.map(function (h) {
      var t = h.totals || {};
      return { host: h.host, count: t.count || 0, share: count ? (t.count || 0) / count : null,
               error_rate: t.count ? t.errors / t.count : null, mean_ms: t.mean_ms, p95_ms: t.p95_ms,
               apdex: t.apdex, workers: (h.workers || []).length };
    });
    var s = section('Hosts');
    add(s, table([
      { key: 'host', label: 'Host', cls: 'name', cell: function (r) { return link(r.host, hereWith({ host: r.host, worker: null })); } },
      { key: 'share', label: 'Share', num: true, text: function (r) { return fmtPct(r.share); } },
      { key: 'count', label: 'Requests', num: true, text: function (r) { return fmtNum(r.count); } },
      { key: 'mean_ms', label: 'Mean', num: true, text: function (r) { return fmtMs(r.mean_ms); } },
      { key: 'p95_ms', label: 'p95', num: true, text: function (r) { return fmtMs(r.p95_ms); } },
      { key: 'error_rate', label: 'Errors', num: true, text: function (r) { return fmtPct(r.error_rate); } },
      { key: 'apdex', label: 'Apdex', num: true, text: function (r) { return fmtApdex(r.apdex); } },
      { key: 'workers', label: 'Workers', num: true, text: function (r) { return String(r.workers); } },
    ], rows, { sort: 'count', id: 'hosts' }));
    return s;
  }

  function transactions(r, w) {
    return api('transactions', w).then(function (got) {
      var page = el('div');
      add(page, el('h1', null, 'Transactions'),
          add(section(null), table(transactionColumns(), got.transactions, { sort: 'share', id: 'transactions' })));
      return page;
    });
  }

  /* One transaction's numbers over the window, from its series: what its
   * row of /api/v1/transactions holds, without reading every transaction's
   * rows (the slowest query of a 7-day window). */
  function totalsOf(series) {
    var row = { count: 0, errors: 0, total: 0, sql_ms: 0, template_ms: 0, http_ms: 0, code_ms: 0 };
    series.points.forEach(function (p) {
      row.count += p.count; row.errors += p.errors; row.total += (p.mean_ms || 0) * p.count;
      ['sql_ms', 'template_ms', 'http_ms', 'code_ms'].forEach(function (k) { row[k] += p[k]; });
    });
    if (!row.count) return null;
    ['sql_ms', 'template_ms', 'http_ms', 'code_ms'].forEach(function (k) { row[k] /= row.count; });
    var hist = mergeHistograms(series.points);
    row.mean_ms = row.total / row.count;
    row.rpm = rpmOf(series);
    row.error_rate = row.errors / row.count;
    row.p50_ms = quantileMs(hist, 0.5); row.p95_ms = quantileMs(hist, 0.95); row.p99_ms = quantileMs(hist, 0.99);
    row.apdex = apdexOf(series.points, function (p) { return p.satisfied + p.tolerating + p.frustrated; });
    return row;
  }

  function transaction(r, w) {
    var name = r.query.get('name') || '';
    var step = stepFor(w);
    return Promise.all([
      api('series', Object.assign({ step: step, transaction: name }, w)),
      api('traces', { transaction: name, since: w.since, until: w.until, host: w.host, worker: w.worker, limit: 100 }),
    ]).then(function (got) {
      var series = got[0], traces = got[1].traces;
      var row = totalsOf(series);
      var page = el('div');
      var head = el('div', 'page-head');
      add(head, el('h1', 'tx-name', name), el('span', 'kind-badge', traces.length ? traces[0].kind : ''),
          link('X-Ray this transaction', href('xray', { transaction: name }), 'button'));
      page.appendChild(head);
      page.appendChild(tiles(row ? [
        ['Requests', fmtNum(row.count)], ['Throughput', fmtNum(row.rpm) + ' rpm'], ['Mean', fmtMs(row.mean_ms)],
        ['p50', fmtMs(row.p50_ms)], ['p95', fmtMs(row.p95_ms)], ['p99', fmtMs(row.p99_ms)],
        ['Apdex', fmtApdex(row.apdex)], ['Errors', fmtPct(row.error_rate)],
      ] : [['Requests', '0']]));
      var hist = mergeHistograms(series.points);
      var values = Object.keys(hist).map(function (k) { return [bucketMiddleMs(Number(k)), hist[k]]; });
      add(page, add(el('div', 'grid'), histogramSection(values, 'chart-histogram'),
                    percentileChart(series, 'chart-percentiles'), throughputChart(series, 'chart-throughput'),
                    componentChart(series, 'chart-components'),
                    apdexChart(series, 'chart-apdex'), errorChart(series, 'chart-errors')));
      add(page, add(el('div', 'grid'), breakdownSection(row), componentsSection(traces)));
      add(page, add(section('Kept traces'), table(traceColumns(), traces, { id: 'traces', sort: 'start', empty: 'No traces kept in this window.' })));
      page.appendChild(profileSection('Profile', { transaction: name, since: w.since, until: w.until, host: w.host, worker: w.worker }));
      return page;
    });
  }

  function trace(r) {
    var id = r.arg || '';
    return api('traces/' + encodeURIComponent(id)).then(function (t) {
      var doc = t.document || {}, sql = doc.sql || {};
      var page = el('div');
      add(page, add(el('div', 'page-head'), el('h1', 'tx-name', t.name),
                    link('the transaction', href('transaction', { name: t.name }), 'button')));
      var facts = el('dl', 'facts');
      [['URL', t.url || doc.path || ''], ['Method', doc.method || ''], ['Started', fmtTime(t.start)],
       ['Duration', fmtMs(t.duration_ms)], ['Status', t.status === null || t.status === undefined ? '' : String(t.status)],
       ['Error', t.error || ''], ['Host', (t.host || '') + (t.pid ? ' · pid ' + t.pid : '')],
       ['Session', t.session || '']].forEach(function (f) {
        if (!f[1]) return;
        add(facts, el('dt', null, f[0]), el('dd', f[0] === 'URL' ? 'url' : null, f[1]));
      });
      page.appendChild(add(section(null), facts));
      var wf = section('Waterfall');
      wf.appendChild(frame(reportUrl('trace/' + encodeURIComponent(id)), 'the trace\'s waterfall'));
      page.appendChild(wf);
      var segments = doc.segments || [];
      page.appendChild(add(section('Segments'), table([
        { key: 'start', label: 'Start', num: true, text: function (s) { return fmtMs(s.start * 1000); } },
        { key: 'duration', label: 'Duration', num: true, text: function (s) { return fmtMs(s.duration * 1000); } },
        { key: 'kind', label: 'Kind' },
        { key: 'name', label: 'Segment', cls: 'code', text: function (s) { return '\u00a0'.repeat(2 * Math.min(s.depth || 0, 20)) + s.name; } },
        { key: 'detail', label: 'Detail', cls: 'code', text: function (s) { return s.detail || s.error || ''; } },
      ], segments, { id: 'segments', sort: 'start', desc: false, empty: 'No segments.' })));
      var dup = {}, n1 = {}, shapes = {};
      (sql.duplicates || []).forEach(function (q) { dup[q] = 1; });
      (sql.n_plus_one || []).forEach(function (q) { n1[q] = 1; });
      segments.forEach(function (s) {
        if (s.kind !== 'sql') return;
        var row = shapes[s.name] || (shapes[s.name] = { name: s.name, count: 0, total: 0 });
        row.count += 1; row.total += s.duration * 1000;
      });
      var shapeRows = Object.keys(shapes).map(function (k) { return shapes[k]; });
      var sqlSection = section('SQL shapes');
      if (sql.queries !== undefined) sqlSection.appendChild(el('p', 'note', fmtNum(sql.queries) + ' queries in ' + fmtMs((sql.sql_seconds || 0) * 1000)));
      sqlSection.appendChild(table([
        { key: 'name', label: 'Statement', cls: 'code' },
        { key: 'count', label: 'Runs', num: true },
        { key: 'total', label: 'Total', num: true, text: function (q) { return fmtMs(q.total); } },
        { key: 'flags', label: 'Flags', value: function (q) { return (n1[q.name] ? 'N+1 ' : '') + (dup[q.name] ? 'duplicate' : ''); },
          cell: function (q) {
            var box = el('span');
            if (n1[q.name]) box.appendChild(el('span', 'flag', 'N+1'));
            if (dup[q.name]) box.appendChild(el('span', 'flag', 'duplicate'));
            return box;
          } },
      ], shapeRows, { id: 'sql-shapes', sort: 'total', empty: 'No SQL in this request.' }));
      page.appendChild(sqlSection);
      var samples = (doc.samples || []).map(function (s) { return { frames: s[0], count: s[1] }; });
      page.appendChild(add(section('Samples of the request\'s thread' + (doc.sample_rate ? ' (' + doc.sample_rate + ' Hz)' : '')), table([
        { key: 'count', label: 'Samples', num: true },
        { key: 'leaf', label: 'Innermost', cls: 'code', value: function (s) { var f = s.frames[s.frames.length - 1]; return f ? f[2] : ''; } },
        { key: 'stack', label: 'Stack (outermost first)', cls: 'code wrap', text: function (s) {
          return s.frames.map(function (f) { return f[2] + ' (' + f[0] + ':' + f[1] + ')'; }).join(' \u2192 ');
        } },
      ], samples, { id: 'samples', sort: 'count', empty: 'No samples of this request.' })));
      return page;
    });
  }

  function startSession(body) {
    return api('sessions', null, body).then(function (got) {
      location.hash = href('xray/' + encodeURIComponent(got.id), { transaction: null });
    }, showError);
  }

  function threads(r, w) {
    var kind = r.query.get('kind') || 'web', session = r.query.get('session') || '', view = r.query.get('view') || 'topdown';
    return api('sessions', { limit: 100 }).then(function (got) {
      var sessions = got.sessions.filter(function (s) { return s.kind === 'threads'; });
      var page = el('div');
      page.appendChild(el('h1', null, 'Thread profile'));
      var bar = el('div', 'controls');
      var kinds = el('span', 'segmented');
      [['web', 'Web'], ['background', 'Background'], ['other', 'Other']].forEach(function (k) {
        kinds.appendChild(link(k[1], href('threads', { kind: k[0], session: session || null, view: view }), k[0] === kind ? 'on' : null));
      });
      var views = el('span', 'segmented');
      [['topdown', 'Top-down'], ['bottomup', 'Bottom-up'], ['flame', 'Flame graph']].forEach(function (v) {
        views.appendChild(link(v[1], href('threads', { kind: kind, session: session || null, view: v[0] }), v[0] === view ? 'on' : null));
      });
      var pick = el('select');
      pick.id = 'thread-session';
      pick.appendChild(el('option', null, 'the window'));
      pick.firstChild.value = '';
      sessions.forEach(function (s) {
        var o = el('option', null, 'session of ' + fmtTime(s.created) + ' (' + s.status + ')');
        o.value = s.id;
        if (s.id === session) o.selected = true;
        pick.appendChild(o);
      });
      pick.addEventListener('change', function () { location.hash = href('threads', { kind: kind, view: view, session: pick.value || null }); });
      var start = el('button', null, 'Start a 2-minute session');
      start.addEventListener('click', function () {
        api('sessions', null, { kind: 'threads', duration_s: 120, rate_hz: 500 }).then(function (got) {
          location.hash = href('threads', { kind: kind, view: view, session: got.id });
        }, showError);
      });
      add(bar, kinds, views, add(el('label', null, 'From '), pick), start);
      page.appendChild(bar);
      var params = { kind: kind, view: view, host: w.host, worker: w.worker };
      var chosen = sessions.filter(function (s) { return s.id === session; })[0];
      if (chosen) { params.session = chosen.id; params.since = chosen.created; params.until = Math.max(chosen.ends, chosen.created + 1); }
      else { params.since = w.since; params.until = w.until; }
      page.appendChild(profileSection('Threads: ' + kind, params));
      return page;
    });
  }

  function xray(r, w) {
    return Promise.all([api('sessions', { limit: 100 }), api('transactions', w)]).then(function (got) {
      var sessions = got[0].sessions.filter(function (s) { return s.kind === 'xray'; });
      var page = el('div');
      page.appendChild(el('h1', null, 'X-Ray'));
      var form = el('form', 'controls');
      form.id = 'xray-form';
      var name = el('input');
      name.id = 'xray-transaction';
      name.setAttribute('list', 'xray-names');
      name.required = true;
      name.size = 50;
      name.value = r.query.get('transaction') || '';
      var names = el('datalist');
      names.id = 'xray-names';
      got[1].transactions.forEach(function (t) { var o = el('option'); o.value = t.name; names.appendChild(o); });
      var duration = el('input'); duration.id = 'xray-duration'; duration.type = 'number'; duration.min = 10; duration.max = 3600; duration.value = 300;
      var count = el('input'); count.id = 'xray-traces'; count.type = 'number'; count.min = 1; count.max = 10000; count.value = 100;
      add(form, add(el('label', null, 'Transaction '), name, names), add(el('label', null, 'Seconds '), duration),
          add(el('label', null, 'Traces '), count), el('button', null, 'Start X-Ray'));
      form.lastChild.type = 'submit';
      form.lastChild.id = 'xray-start';
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        startSession({ kind: 'xray', transaction: name.value, duration_s: Number(duration.value), traces: Number(count.value), rate_hz: 1000 });
      });
      page.appendChild(add(section('Start a session'), el('p', 'note',
        'Workers keep the trace of every request of the transaction (up to the traces asked) and sample its threads, until the time is up.'), form));
      page.appendChild(add(section('Sessions'), table([
        { key: 'created', label: 'Started', cell: function (s) { return link(fmtTime(s.created), href('xray/' + encodeURIComponent(s.id), { transaction: null })); } },
        { key: 'transaction', label: 'Transaction', cls: 'name' },
        { key: 'status', label: 'Status', text: sessionState },
        { key: 'traces', label: 'Traces a worker', num: true },
        { key: 'ends', label: 'Ends', text: function (s) { return fmtTime(s.ends); } },
      ], sessions, { id: 'sessions', sort: 'created', empty: 'No X-Ray sessions yet.' })));
      return page;
    });
  }

  function sessionState(s) {
    if (s.status === 'active' && s.ends > Date.now() / 1000) return 'running';
    return s.status === 'active' ? 'done' : s.status;
  }

  function xraySession(r) {
    var id = r.arg || '';
    return api('sessions/' + encodeURIComponent(id)).then(function (s) {
      var until = Math.max(s.created + 1, Math.min(s.ends, s.ended || s.ends, Date.now() / 1000 + 60));
      return api('traces', { session: id, since: s.created - 60, until: until + 60, limit: 1000, order: 'recent' }).then(function (got) {
        var traces = got.traces, state = sessionState(s), now = Date.now() / 1000;
        var page = el('div');
        add(page, add(el('div', 'page-head'), el('h1', null, 'X-Ray'), el('span', 'tx-name', s.transaction || ''),
                      s.transaction ? link('the transaction', href('transaction', { name: s.transaction }), 'button') : null));
        var status = el('div', 'session-state');
        status.id = 'session-state';
        status.setAttribute('data-state', state);
        var elapsed = Math.min(1, Math.max(0, (now - s.created) / Math.max(1, s.ends - s.created)));
        var done = state !== 'running' ? 1 : elapsed;
        var progress = el('div', 'progress'), fill = el('i');
        fill.style.width = (done * 100) + '%';
        progress.appendChild(fill);
        add(status, el('strong', 'state', state), progress,
            el('span', null, traces.length + ' traces kept (up to ' + s.traces + ' a worker) · ' +
               (state === 'running' ? Math.round(s.ends - now) + ' s left' : 'ended ' + fmtTime(s.ended || s.ends))));
        page.appendChild(add(section(null), status));
        if (state === 'running') {
          // Watch it: the page redraws itself while the session runs.
          pollTimer = setTimeout(function () { if (route().arg === id) render(); }, 3000);
        }
        var values = traces.map(function (t) { return [t.duration_ms, 1]; });
        var step = Math.max(60, Math.ceil((until - s.created) / 120 / 60) * 60);
        var bins = {};
        traces.forEach(function (t) { var k = Math.floor(t.start / step) * step; bins[k] = (bins[k] || 0) + 1; });
        var points = Object.keys(bins).map(function (k) { return { t: Number(k), count: bins[k], rpm: bins[k] * 60 / step }; });
        var series = { since: s.created, until: Math.max(until, s.created + step), step: step, points: points };
        add(page, add(el('div', 'grid'), histogramSection(values, 'chart-histogram', 'Traces per response time'),
                      chart('Traces kept per minute', 'chart-throughput', function (c) {
                        timeChart(c, { since: series.since, until: series.until, step: step, points: points,
                                       bars: [{ value: function (p) { return p.rpm; }, color: COLORS.rpm }], fmt: fmtNum });
                      })));
        add(page, add(section('Traces'), table(traceColumns(), traces, { id: 'traces', sort: 'start', empty: 'No traces kept yet.' })));
        page.appendChild(componentsSection(traces));
        page.appendChild(profileSection('Profile of ' + (s.transaction || 'the session'),
          { session: id, transaction: s.transaction, since: s.created - 60, until: until + 60 }));
        return page;
      });
    });
  }

  var PAGES = { overview: overview, transactions: transactions, transaction: transaction, trace: trace,
                threads: threads, xray: function (r, w) { return r.arg ? xraySession(r) : xray(r, w); } };

  /* ---- the frame: window controls, routing, refresh -------------------------- */

  function showError(e) {
    var box = $('error');
    box.textContent = String(e && e.message ? e.message : e);
    box.hidden = false;
  }

  function localInput(t) {
    var d = new Date(t * 1000 - new Date(t * 1000).getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  }

  function syncControls(r) {
    var since = r.query.get('since') || '1h';
    var custom = !WINDOWS[since];
    $('since').value = custom ? 'custom' : since;
    $('custom').hidden = !custom;
    if (custom) {
      $('from').value = localInput(Number(since));
      $('to').value = localInput(Number(r.query.get('until') || Date.now() / 1000));
    }
    $('refresh').value = r.query.get('refresh') || '';
    Array.prototype.forEach.call(document.querySelectorAll('#nav a'), function (a) {
      var page = a.getAttribute('data-page');
      a.className = page === r.page || (page === 'transactions' && (r.page === 'transaction' || r.page === 'trace')) ? 'on' : '';
      a.href = href(page, { name: null, transaction: null, kind: null, session: null, view: null });
    });
  }

  /* The host and worker selects, from the hosts that wrote in the window.
   * A worker is a pid of one host: with a host chosen, its workers; with
   * all hosts, every host's under its name (choosing one chooses its host). */
  function fillFilters(w) {
    api('hosts', { since: w.since, until: w.until }).then(function (got) {
      var hosts = $('host'), workers = $('worker');
      while (hosts.options.length > 1) hosts.remove(1);
      var names = got.hosts.map(function (h) { return h.host; });
      if (w.host && names.indexOf(w.host) < 0) names.push(w.host);
      names.forEach(function (n) { var o = el('option', null, n); o.value = n; hosts.appendChild(o); });
      hosts.value = w.host || '';
      while (workers.children.length > 1) workers.removeChild(workers.lastChild);
      var shown = false;
      got.hosts.forEach(function (h) {
        if ((w.host && h.host !== w.host) || !(h.workers || []).length) return;
        var box = workers;
        if (!w.host) { box = el('optgroup'); box.label = h.host; workers.appendChild(box); }
        h.workers.forEach(function (worker) {
          var o = el('option', null, 'pid ' + worker.pid);
          o.value = String(worker.pid);
          o.setAttribute('data-host', h.host);
          o.title = 'seen ' + fmtTime(worker.first_seen) + ' to ' + fmtTime(worker.last_seen);
          if (o.value === w.worker && !shown) { o.selected = true; shown = true; }
          box.appendChild(o);
        });
      });
      if (w.worker && !shown) {
        // Asked for in the address but not listed (its minutes are gone).
        var o = el('option', null, 'pid ' + w.worker);
        o.value = w.worker;
        o.setAttribute('data-host', w.host || '');
        o.selected = true;
        workers.appendChild(o);
      }
      if (!w.worker) workers.value = '';
    }, function () {});
  }

  function render() {
    var r = route(), w = windowParams(r), mine = ++generation;
    clearTimeout(pollTimer);
    syncControls(r);
    fillFilters(w);
    var make = PAGES[r.page];
    document.body.setAttribute('data-page', r.page);
    document.body.removeAttribute('data-ready');
    $('error').hidden = true;
    var done = make ? make(r, w) : Promise.resolve(el('p', null, 'No page ' + r.page));
    done.then(function (page) {
      if (mine !== generation) return;
      var main = $('page');
      main.textContent = '';
      main.appendChild(page);
      var drawing = pendingCharts;
      pendingCharts = [];
      drawing.forEach(function (draw) { draw(); });
      document.body.setAttribute('data-ready', '1');
    }, function (e) {
      pendingCharts = [];
      if (mine !== generation) return;
      $('page').textContent = '';
      showError(e);
      document.body.setAttribute('data-ready', '1');
    });
    clearInterval(refreshTimer);
    var every = Number(r.query.get('refresh'));
    if (every > 0) refreshTimer = setInterval(render, every * 1000);
  }

  $('since').addEventListener('change', function () {
    var v = $('since').value;
    if (v === 'custom') {
      var now = Math.floor(Date.now() / 1000);
      location.hash = hereWith({ since: String(now - 3600), until: String(now) });
    } else {
      location.hash = hereWith({ since: v, until: null });
    }
  });
  $('window').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var from = new Date($('from').value).getTime() / 1000, to = new Date($('to').value).getTime() / 1000;
    if (!(from < to)) { showError('the window must start before it ends'); return; }
    location.hash = hereWith({ since: String(Math.floor(from)), until: String(Math.floor(to)) });
  });
  $('host').addEventListener('change', function () {
    // A pid names a process of one host: another host, all its workers.
    location.hash = hereWith({ host: $('host').value || null, worker: null });
  });
  $('worker').addEventListener('change', function () {
    var chosen = $('worker').selectedOptions[0];
    var host = chosen && chosen.value ? chosen.getAttribute('data-host') || null : route().query.get('host');
    location.hash = hereWith({ host: host, worker: $('worker').value || null });
  });
  $('refresh').addEventListener('change', function () {
    location.hash = hereWith({ refresh: $('refresh').value || null });
  });
  window.addEventListener('hashchange', render);
  var resizeTimer = null;
  window.addEventListener('resize', function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(render, 200); });

  // For tests and scripts: where a chart drew a time's bar.
  window.plumbDashboard = { chart: function (id) { return charts[id] || null; } };
  render();
})();
