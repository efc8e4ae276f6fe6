/* plumb's report: draws the plumb JSON profile embedded in the page
 * (docs/json-format.md).  No library and no network: canvas for the graphs
 * (one DOM node per frame would not survive 100,000 frames), plain DOM for
 * tables and trees, built lazily. */
(function () {
  'use strict';

  var P = JSON.parse(document.getElementById('plumb-profile').textContent);
  var M = JSON.parse(document.getElementById('plumb-meta').textContent);
  var S = P.strings, F = P.functions, NF = F.name.length;
  var T = P.tree;
  var $ = function (id) { return document.getElementById(id); };

  /* ---- functions and their numbers ---------------------------------- */

  function fname(f) { return f < 0 ? 'all' : S[F.name[f]]; }
  function ffile(f) { return f < 0 ? '' : S[F.file[f]]; }
  function fwhere(f) {
    if (f < 0) return '';
    var file = ffile(f);
    return file === '~' ? 'built-in' : file + ':' + F.line[f];
  }
  function fshortwhere(f) {
    var w = fwhere(f), cut = w.lastIndexOf('/');
    return cut >= 0 ? w.slice(cut + 1) : w;
  }

  var listed = new Uint8Array(NF), calls = new Float64Array(NF), prim = new Float64Array(NF);
  var own = new Float64Array(NF), total = new Float64Array(NF);
  P.stats.function.forEach(function (f, i) {
    listed[f] = 1;
    calls[f] = P.stats.calls[i]; prim[f] = P.stats.prim_calls[i];
    own[f] = P.stats.own[i]; total[f] = P.stats.total[i];
  });
  var ownSum = 0, maxTotal = 0;
  for (var f0 = 0; f0 < NF; f0++) { ownSum += own[f0]; if (total[f0] > maxTotal) maxTotal = total[f0]; }
  var profileTotal = Math.max(ownSum, maxTotal) || 1;
  var E = P.edges, callersOf = [], calleesOf = [];
  for (var f1 = 0; f1 < NF; f1++) { callersOf.push([]); calleesOf.push([]); }
  E.caller.forEach(function (c, i) { callersOf[E.callee[i]].push(i); calleesOf[c].push(i); });
  var sampled = P.kind === 'sampled';

  /* ---- formatting ---------------------------------------------------- */

  function fmtTime(s) {
    if (!(s > 0)) return '0';
    if (s >= 100) return s.toFixed(0) + ' s';
    if (s >= 1) return s.toFixed(2) + ' s';
    if (s >= 1e-3) return (s * 1e3).toFixed(s >= 0.1 ? 0 : s >= 0.01 ? 1 : 2) + ' ms';
    if (s >= 1e-6) return (s * 1e6).toFixed(s >= 1e-4 ? 0 : 1) + ' \u00b5s';
    return (s * 1e9).toFixed(0) + ' ns';
  }
  function fmtPct(x) {
    if (!(x > 0)) return '0%';
    return (x >= 0.1 ? (x * 100).toFixed(1) : (x * 100).toFixed(2)) + '%';
  }
  function fmtCount(n) { return Math.round(n).toLocaleString('en-US'); }
  function fmtCalls(f) {
    if (sampled) return '';
    return prim[f] !== calls[f] ? fmtCount(calls[f]) + '/' + fmtCount(prim[f]) : fmtCount(calls[f]);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* ---- the call tree of the selected thread(s) ----------------------- */
  /* A view is the tree of one thread, or of all threads merged by call
   * path, with values in seconds and children heaviest first. */

  var view = null;

  function buildView(thread) {
    var vf = [-1], vp = [-1], vs = [0], vc = [0], kids = [[]];
    var index = new Map();
    var unit = T.unit, n = T.parent.length;
    var tkids = [];
    for (var i = 0; i < n; i++) tkids.push(null);
    for (i = 0; i < n; i++) {
      var p = T.parent[i];
      if (p >= 0) (tkids[p] || (tkids[p] = [])).push(i);
    }
    var roots = thread < 0 ? T.threads.root : [T.threads.root[thread]];
    var stack = [];
    roots.forEach(function (r) {
      vs[0] += T.self[r] * unit;
      stack.push([r, 0]);
    });
    while (stack.length) {
      var top = stack.pop(), src = top[0], dst = top[1], ks = tkids[src];
      if (!ks) continue;
      for (var k = 0; k < ks.length; k++) {
        var c = ks[k], func = T.func[c], key = dst * (NF + 1) + func;
        var d = index.get(key);
        if (d === undefined) {
          d = vf.length;
          index.set(key, d);
          vf.push(func); vp.push(dst); vs.push(0); vc.push(0); kids.push([]);
          kids[dst].push(d);
        }
        vs[d] += T.self[c] * unit;
        if (T.calls) vc[d] += T.calls[c];
        stack.push([c, d]);
      }
    }
    var m = vf.length, incl = new Float64Array(m), depth = new Int32Array(m);
    for (i = m - 1; i >= 0; i--) {
      incl[i] += vs[i];
      if (vp[i] >= 0) incl[vp[i]] += incl[i];
    }
    for (i = 1; i < m; i++) depth[i] = depth[vp[i]] + 1;
    kids.forEach(function (ks) { ks.sort(function (a, b) { return incl[b] - incl[a]; }); });
    return { func: vf, parent: vp, self: vs, calls: vc, kids: kids, incl: incl, depth: depth, n: m };
  }

  /* ---- state ---------------------------------------------------------- */

  var state = { view: null, thread: -1, focus: 0, query: '', match: null, hoverFrame: null };
  var history = [], historyAt = -1;

  /* ---- header, notice and thread selector ----------------------------- */

  function setupHeader() {
    $('title').textContent = M.title;
    var facts = [];
    facts.push(P.kind === 'deterministic' ? 'deterministic profile'
      : P.kind === 'sampled' ? 'sampled profile (' + (P.summary.mode || 'wall') + ' time)'
        : 'function-level profile');
    if (P.kind === 'sampled' && P.summary.interval)
      facts.push(fmtCount(1 / P.summary.interval) + ' Hz');
    facts.push(fmtTime(T ? sumRoots() : profileTotal) + ' profiled');
    facts.push(fmtCount(P.stats.function.length) + ' functions');
    if (!sampled) {
      var allCalls = 0;
      for (var f = 0; f < NF; f++) allCalls += calls[f];
      facts.push(fmtCount(allCalls) + ' calls');
    }
    facts.push('made ' + M.created);
    $('facts').textContent = facts.join(' \u00b7 ');
    var notes = [];
    if (!T) notes.push('This profile holds no call tree: only the function table is available.');
    else if (!T.exact) notes.push('This call tree was rebuilt from caller\u2192callee pairs: the file ' +
      'holds no call paths. Where a function is called from several places its time is shared ' +
      'out in proportion to each caller\u2019s calls, which may not be where it was spent. ' +
      'Profiles made by plumb run and plumb sample record exact paths.');
    if (P.summary && P.summary.folded_calls)
      notes.push(fmtCount(P.summary.folded_calls) + ' calls along paths beyond the tree\u2019s size ' +
        'limit are counted in their nearest recorded caller.');
    if (notes.length) { $('notice').hidden = false; $('notice').textContent = notes.join(' '); }
    var sel = $('thread');
    if (!T || T.threads.id.length < 2) { $('thread-box').hidden = true; }
    if (T) {
      var n = T.threads.id.length;
      var all = el('option', null, 'All threads (' + n + ')');
      all.value = '-1';
      sel.appendChild(all);
      var totals = threadTotals();
      for (var t = 0; t < n; t++) {
        var name = T.threads.name[t] >= 0 ? S[T.threads.name[t]] : 'thread ' + T.threads.id[t];
        var o = el('option', null, name + ' \u2014 ' + fmtPct(totals[t] / (sumRoots() || 1)));
        o.value = String(t);
        sel.appendChild(o);
      }
      sel.addEventListener('change', function () { selectThread(parseInt(sel.value, 10)); });
    }
  }

  function threadTotals() {
    var n = T.parent.length, incl = new Float64Array(n);
    for (var i = n - 1; i >= 0; i--) {
      incl[i] += T.self[i] * T.unit;
      if (T.parent[i] >= 0) incl[T.parent[i]] += incl[i];
    }
    return T.threads.root.map(function (r) { return incl[r]; });
  }
  var rootsTotal = null;
  function sumRoots() {
    if (rootsTotal === null) rootsTotal = threadTotals().reduce(function (a, b) { return a + b; }, 0);
    return rootsTotal;
  }

  function selectThread(t) {
    state.thread = t;
    state.view = view = buildView(t);
    state.focus = 0;
    computeMatches();
    renderCurrent();
  }

  /* ---- tabs ------------------------------------------------------------ */

  var current = null;
  function showTab(name) {
    current = name;
    Array.prototype.forEach.call(document.querySelectorAll('#tabs button'), function (b) {
      b.classList.toggle('active', b.getAttribute('data-view') === name);
    });
    $('graph-view').hidden = !(name === 'flame' || name === 'icicle' || name === 'squaremap');
    $('table-view').hidden = name !== 'table';
    $('timeline-view').hidden = name !== 'timeline';
    $('tree-view').hidden = !(name === 'topdown' || name === 'bottomup');
    renderCurrent();
  }
  function renderCurrent() {
    if (current === 'flame' || current === 'icicle') drawFlame();
    else if (current === 'squaremap') drawSquaremap();
    else if (current === 'table') renderTable();
    else if (current === 'topdown') renderTopDown();
    else if (current === 'bottomup') renderBottomUp();
    else if (current === 'timeline') renderTimeline();
    document.body.setAttribute('data-view', current);
  }

  /* ---- search ------------------------------------------------------- */

  function computeMatches() {
    var q = state.query.trim().toLowerCase();
    state.match = null;
    $('search-share').textContent = '';
    if (!q) return;
    var m = new Uint8Array(NF), any = 0;
    for (var f = 0; f < NF; f++) {
      if (fname(f).toLowerCase().indexOf(q) >= 0 || ffile(f).toLowerCase().indexOf(q) >= 0) {
        m[f] = 1; any++;
      }
    }
    state.match = m;
    if (!view) return;
    // Share of the view under a match, each stack counted once (a match
    // inside a match adds nothing).
    var share = 0, stack = [[state.focus, false]];
    while (stack.length) {
      var top = stack.pop(), node = top[0], under = top[1];
      var hit = m[view.func[node]] === 1;
      if (hit && !under) share += view.incl[node];
      var ks = view.kids[node];
      for (var k = 0; k < ks.length; k++) stack.push([ks[k], under || hit]);
    }
    var whole = view.incl[state.focus] || 1;
    $('search-share').textContent = any + (any === 1 ? ' function matches, ' : ' functions match, ') +
      fmtPct(share / whole) + ' of ' + (state.focus ? 'the zoomed frame' : 'the total');
    state.matchShare = share / whole;
  }

  /* ---- flame graph and icicle ------------------------------------------- */

  var ROW = 18, canvas = $('canvas'), ctx = canvas.getContext('2d');
  var frames = [], framesByDepth = [];

  function hashHue(text) {
    var h = 0;
    for (var i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
    return h;
  }
  function frameColor(f, matched, dim) {
    if (matched) return '#c026d3';
    var h = hashHue(ffile(f));
    var builtin = ffile(f) === '~';
    var hue = builtin ? 200 + (Math.abs(h) % 30) : 8 + (Math.abs(h) % 42);
    var light = 58 + (Math.abs(h >> 8) % 14);
    var sat = dim ? 8 : builtin ? 30 : 72;
    return 'hsl(' + hue + ',' + sat + '%,' + (dim ? 84 : light) + '%)';
  }

  function sizeCanvas(height) {
    var dpr = window.devicePixelRatio || 1, w = $('canvas-box').clientWidth;
    canvas.style.height = height + 'px';
    canvas.width = Math.max(1, Math.floor(w * dpr));
    canvas.height = Math.max(1, Math.floor(height * dpr));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return w;
  }

  function layoutFlame(width) {
    frames = []; framesByDepth = [];
    var root = state.focus, whole = view.incl[root] || 1, maxDepth = 0;
    var stack = [[root, 0, 0]];
    while (stack.length) {
      var top = stack.pop(), node = top[0], x = top[1], d = top[2];
      var w = view.incl[node] / whole * width;
      if (w < 0.4) continue;
      var fr = { node: node, x: x, w: w, depth: d };
      frames.push(fr);
      (framesByDepth[d] || (framesByDepth[d] = [])).push(fr);
      if (d > maxDepth) maxDepth = d;
      if (d >= 1500) continue;
      // Callees from the left; the function's own time is the gap on the right.
      var ks = view.kids[node], cx = x;
      for (var k = 0; k < ks.length; k++) {
        stack.push([ks[k], cx, d + 1]);
        cx += view.incl[ks[k]] / whole * width;
      }
    }
    framesByDepth.forEach(function (row) { row.sort(function (a, b) { return a.x - b.x; }); });
    return maxDepth;
  }

  function drawFlame() {
    if (!view) return;
    var width = $('canvas-box').clientWidth;
    var maxDepth = layoutFlame(width);
    var height = (maxDepth + 1) * ROW + 2;
    sizeCanvas(height);
    var flame = current === 'flame';
    ctx.clearRect(0, 0, width, height);
    ctx.font = '12px ' + getComputedStyle(document.body).fontFamily;
    ctx.textBaseline = 'middle';
    for (var i = 0; i < frames.length; i++) {
      var fr = frames[i], f = view.func[fr.node];
      fr.y = flame ? (maxDepth - fr.depth) * ROW : fr.depth * ROW;
      var matched = state.match && f >= 0 && state.match[f] === 1;
      ctx.fillStyle = f < 0 ? '#d6d3cd' : frameColor(f, matched, state.match && !matched);
      ctx.fillRect(fr.x, fr.y, Math.max(fr.w - 0.5, 0.5), ROW - 1);
      if (fr.w > 28) {
        var label = f < 0 ? threadLabel() : fname(f);
        var room = Math.floor((fr.w - 6) / 6.6);
        if (label.length > room) label = room > 2 ? label.slice(0, room - 1) + '\u2026' : '';
        ctx.fillStyle = matched ? '#fff' : '#1d1f21';
        ctx.fillText(label, fr.x + 3, fr.y + ROW / 2);
      }
    }
    renderCrumbs();
    document.body.setAttribute('data-frames', String(frames.length));
  }

  function threadLabel() {
    var t = state.thread;
    if (t < 0 && T.threads.id.length !== 1) return 'all threads';
    if (t < 0) t = 0;
    return T.threads.name[t] >= 0 ? S[T.threads.name[t]] : 'thread ' + T.threads.id[t];
  }

  function frameAt(px, py) {
    if (current === 'squaremap') {
      for (var i = squares.length - 1; i >= 0; i--) {
        var s = squares[i];
        if (px >= s.x && px < s.x + s.w && py >= s.y && py < s.y + s.h) return s;
      }
      return null;
    }
    for (var d = 0; d < framesByDepth.length; d++) {
      var row = framesByDepth[d];
      if (!row || !row.length || py < row[0].y || py >= row[0].y + ROW) continue;
      var lo = 0, hi = row.length - 1;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1, fr = row[mid];
        if (px < fr.x) hi = mid - 1;
        else if (px >= fr.x + fr.w) lo = mid + 1;
        else return fr;
      }
    }
    return null;
  }

  function renderCrumbs() {
    var box = $('crumbs');
    box.textContent = '';
    var path = [], n = state.focus;
    while (n >= 0) { path.unshift(n); n = view.parent[n]; }
    path.forEach(function (node, i) {
      if (i) box.appendChild(el('span', 'sep', '\u203a'));
      var b = el('button', null, node === 0 ? threadLabel() : fname(view.func[node]));
      b.title = node === 0 ? '' : fwhere(view.func[node]);
      b.addEventListener('click', function () { zoom(node); });
      box.appendChild(b);
    });
  }

  function zoom(node) {
    state.focus = node;
    computeMatches();
    renderCurrent();
  }

  function tooltipFor(fr, ev) {
    var tip = $('tooltip'), node = fr.node, f = view.func[node];
    var whole = view.incl[0] || 1;
    tip.textContent = '';
    tip.appendChild(el('div', null, f < 0 ? threadLabel() : fname(f)));
    if (f >= 0) tip.appendChild(el('div', 'where', fwhere(f)));
    var line = fmtTime(view.incl[node]) + ' (' + fmtPct(view.incl[node] / whole) + ' of total), own ' +
      fmtTime(view.self[node]);
    if (T.calls && node) line += ', ' + fmtCount(view.calls[node]) + ' calls';   // exact trees only
    tip.appendChild(el('div', null, line));
    tip.hidden = false;
    var box = $('canvas-box').getBoundingClientRect();
    var x = ev.clientX - box.left + 14, y = ev.clientY - box.top + 14;
    if (x + tip.offsetWidth > box.width) x = Math.max(0, box.width - tip.offsetWidth - 4);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }

  canvas.addEventListener('mousemove', function (ev) {
    var r = canvas.getBoundingClientRect();
    var fr = frameAt(ev.clientX - r.left, ev.clientY - r.top);
    state.hoverFrame = fr;
    if (fr) tooltipFor(fr, ev); else $('tooltip').hidden = true;
  });
  canvas.addEventListener('mouseleave', function () { $('tooltip').hidden = true; });
  canvas.addEventListener('click', function (ev) {
    var r = canvas.getBoundingClientRect();
    var fr = frameAt(ev.clientX - r.left, ev.clientY - r.top);
    if (!fr) return;
    $('tooltip').hidden = true;
    // Clicking the frame already zoomed on steps out; any other zooms in.
    if (fr.node === state.focus && state.focus !== 0) zoom(view.parent[fr.node]);
    else zoom(fr.node);
    if (view.func[fr.node] >= 0) selectFunction(view.func[fr.node], true);
  });

  /* ---- squaremap ------------------------------------------------------ */
  /* RunSnakeRun's picture: nested rectangles, each sized by cumulative time,
   * laid out with the squarified algorithm (Bruls, Huizing, van Wijk). */

  var squares = [];

  // The worst aspect ratio of a row of areas summing to sum, laid along a
  // side of length side.
  function worstRatio(rmax, rmin, sum, side) {
    var s2 = side * side, sum2 = sum * sum;
    return Math.max(s2 * rmax / sum2, sum2 / (s2 * rmin));
  }

  function squarify(items, x, y, w, h, out) {
    // items: [{node, value}], largest first, values (areas) summing to w * h.
    var i = 0;
    while (i < items.length && w > 0 && h > 0) {
      var side = Math.min(w, h), start = i, sum = 0, worst = Infinity;
      while (i < items.length) {
        var v = items[i].value, next = worstRatio(items[start].value, v, sum + v, side);
        if (i > start && next > worst) break;
        sum += v; worst = next; i++;
      }
      var thick = sum / side, off = 0;
      for (var k = start; k < i; k++) {
        var len = items[k].value / thick;
        if (w >= h) out.push({ node: items[k].node, x: x, y: y + off, w: thick, h: len });
        else out.push({ node: items[k].node, x: x + off, y: y, w: len, h: thick });
        off += len;
      }
      if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
    }
  }

  function drawSquaremap() {
    if (!view) return;
    var width = $('canvas-box').clientWidth;
    var height = Math.max(360, Math.min(900, window.innerHeight - 190));
    sizeCanvas(height);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px ' + getComputedStyle(document.body).fontFamily;
    ctx.textBaseline = 'top';
    squares = [];
    var queue = [{ node: state.focus, x: 0, y: 0, w: width, h: height, d: 0 }];
    while (queue.length) {
      var r = queue.shift(), f = view.func[r.node];
      var matched = state.match && f >= 0 && state.match[f] === 1;
      ctx.fillStyle = f < 0 ? '#e7e4de' : frameColor(f, matched, state.match && !matched);
      ctx.fillRect(r.x, r.y, r.w, r.h);
      ctx.strokeStyle = 'rgba(255,255,255,0.9)';
      ctx.strokeRect(r.x + 0.5, r.y + 0.5, Math.max(0, r.w - 1), Math.max(0, r.h - 1));
      squares.push(r);
      var head = r.h > 30 && r.w > 40 ? 15 : 0;
      if (head) {
        var label = (f < 0 ? threadLabel() : fname(f)) + '  ' + fmtTime(view.incl[r.node]);
        var room = Math.floor((r.w - 6) / 6);
        if (label.length > room) label = room > 2 ? label.slice(0, room - 1) + '\u2026' : '';
        ctx.fillStyle = matched ? '#fff' : '#1d1f21';
        ctx.fillText(label, r.x + 3, r.y + 2);
      }
      if (r.d >= 14 || r.w < 12 || r.h < 12 + head || squares.length > 20000) continue;
      var ks = view.kids[r.node], inner = { x: r.x + 2, y: r.y + head + 1, w: r.w - 4, h: r.h - head - 3 };
      if (inner.w < 4 || inner.h < 4 || !ks.length) continue;
      var whole = view.incl[r.node] || 1, area = inner.w * inner.h, items = [];
      for (var k = 0; k < ks.length; k++) {
        var v = view.incl[ks[k]] / whole * area;
        if (v >= 4) items.push({ node: ks[k], value: v });
      }
      // Own time is the part left empty, so children keep their true size.
      var selfArea = view.self[r.node] / whole * area;
      var placed = [];
      if (items.length) {
        if (selfArea >= 1) items.push({ node: -1, value: selfArea });
        items.sort(function (a, b) { return b.value - a.value; });
        var rest = area - items.reduce(function (a, b) { return a + b.value; }, 0);
        if (rest > 1) items.push({ node: -1, value: rest });
        squarify(items, inner.x, inner.y, inner.w, inner.h, placed);
      }
      for (var j = 0; j < placed.length; j++) {
        if (placed[j].node < 0) continue;
        placed[j].d = r.d + 1;
        queue.push(placed[j]);
      }
    }
    renderCrumbs();
    document.body.setAttribute('data-frames', String(squares.length));
  }

  /* ---- function table -------------------------------------------------- */

  var tableSort = { key: 'total', desc: true }, selectedFunction = -1;
  var TABLE_ROWS = 400;

  function tableValue(f, key) {
    switch (key) {
      case 'name': return fname(f).toLowerCase();
      case 'where': return fwhere(f).toLowerCase();
      case 'calls': return calls[f];
      case 'own': case 'ownPct': return own[f];
      case 'total': case 'totalPct': return total[f];
      case 'perCall': return calls[f] ? own[f] / calls[f] : 0;
    }
    return 0;
  }

  function renderTable() {
    var q = $('filter').value.trim().toLowerCase();
    var rows = [];
    for (var f = 0; f < NF; f++) {
      if (!listed[f]) continue;
      if (q && fname(f).toLowerCase().indexOf(q) < 0 && fwhere(f).toLowerCase().indexOf(q) < 0) continue;
      rows.push(f);
    }
    var key = tableSort.key, dir = tableSort.desc ? -1 : 1;
    rows.sort(function (a, b) {
      var x = tableValue(a, key), y = tableValue(b, key);
      if (x < y) return -dir;
      if (x > y) return dir;
      return a - b;
    });
    Array.prototype.forEach.call(document.querySelectorAll('#functions th'), function (th) {
      th.classList.remove('sorted-asc', 'sorted-desc');
      if (th.getAttribute('data-key') === key) th.classList.add(tableSort.desc ? 'sorted-desc' : 'sorted-asc');
    });
    var body = document.querySelector('#functions tbody');
    body.textContent = '';
    var shown = rows.slice(0, TABLE_ROWS);
    shown.forEach(function (f) {
      var tr = el('tr');
      tr.setAttribute('data-function', String(f));
      if (f === selectedFunction) tr.className = 'selected';
      tr.appendChild(el('td', 'name', fname(f)));
      // The file's last part keeps the numbers in view; the whole path is its title.
      var w = el('td', 'where', fshortwhere(f)); w.title = fwhere(f); tr.appendChild(w);
      tr.appendChild(el('td', 'num', fmtCalls(f)));
      tr.appendChild(el('td', 'num', fmtTime(own[f])));
      tr.appendChild(el('td', 'num', fmtPct(own[f] / profileTotal)));
      tr.appendChild(el('td', 'num', fmtTime(total[f])));
      tr.appendChild(el('td', 'num', fmtPct(total[f] / profileTotal)));
      tr.appendChild(el('td', 'num', calls[f] ? fmtTime(own[f] / calls[f]) : ''));
      tr.addEventListener('click', function () { selectFunction(f, true); });
      body.appendChild(tr);
    });
    $('table-count').textContent = rows.length > TABLE_ROWS
      ? 'showing ' + TABLE_ROWS + ' of ' + fmtCount(rows.length) + ' functions (filter to narrow)'
      : fmtCount(rows.length) + ' function' + (rows.length === 1 ? '' : 's');
  }

  Array.prototype.forEach.call(document.querySelectorAll('#functions th'), function (th) {
    th.addEventListener('click', function () {
      var key = th.getAttribute('data-key');
      if (tableSort.key === key) tableSort.desc = !tableSort.desc;
      else tableSort = { key: key, desc: !(key === 'name' || key === 'where') };
      renderTable();
    });
  });

  /* ---- function detail: numbers, callers, callees, source --------------- */

  function selectFunction(f, record) {
    if (record) {
      history = history.slice(0, historyAt + 1);
      if (history[history.length - 1] !== f) history.push(f);
      historyAt = history.length - 1;
    }
    selectedFunction = f;
    $('detail').hidden = false;
    $('detail-name').textContent = fname(f);
    $('detail-where').textContent = fwhere(f);
    var dl = $('detail-numbers');
    dl.textContent = '';
    function add(k, v) { dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); }
    if (!sampled) add('Calls', fmtCalls(f) + (prim[f] !== calls[f] ? ' (all/primitive)' : ''));
    add('Own time', fmtTime(own[f]) + ' \u00b7 ' + fmtPct(own[f] / profileTotal));
    add('Cumulative', fmtTime(total[f]) + ' \u00b7 ' + fmtPct(total[f] / profileTotal));
    if (!sampled && calls[f]) add('Per call', fmtTime(total[f] / calls[f]) + ' cumulative');
    fillLinks($('callers'), callersOf[f], true, f);
    fillLinks($('callees'), calleesOf[f], false, f);
    renderSource(f);
    $('back').disabled = historyAt <= 0;
    $('forward').disabled = historyAt >= history.length - 1;
    document.body.setAttribute('data-selected', fname(f));
    if (current === 'table') {
      Array.prototype.forEach.call(document.querySelectorAll('#functions tbody tr'), function (tr) {
        tr.classList.toggle('selected', tr.getAttribute('data-function') === String(f));
      });
    }
    if (current === 'flame' || current === 'icicle' || current === 'squaremap') {
      // The canvas narrowed when the panel opened.
      renderCurrent();
    }
  }

  function fillLinks(table, edges, callers, f) {
    table.textContent = '';
    var head = el('tr');
    ['Function', 'Calls', 'Time', '%'].forEach(function (h, i) {
      var th = el('th', i ? 'num' : null, h);
      head.appendChild(th);
    });
    table.appendChild(head);
    var rows = edges.map(function (e) {
      return { f: callers ? E.caller[e] : E.callee[e], calls: E.calls[e], time: E.total[e],
        countOnly: E.count_only[e] };
    });
    rows.sort(function (a, b) { return b.time - a.time || b.calls - a.calls; });
    if (!rows.length) {
      var tr0 = el('tr');
      var td0 = el('td', null, callers ? 'none (a root of the profile)' : 'none');
      td0.colSpan = 4;
      tr0.appendChild(td0);
      table.appendChild(tr0);
    }
    var base = total[f] || 1;
    rows.forEach(function (r) {
      var tr = el('tr');
      tr.setAttribute('data-function', String(r.f));
      var name = el('td', 'name', fname(r.f));
      name.title = fwhere(r.f);
      tr.appendChild(name);
      tr.appendChild(el('td', 'num', sampled ? '' : fmtCount(r.calls)));
      tr.appendChild(el('td', 'num', r.countOnly ? '' : fmtTime(r.time)));
      tr.appendChild(el('td', 'num', r.countOnly ? '' : fmtPct(r.time / base)));
      tr.addEventListener('click', function () { selectFunction(r.f, true); });
      table.appendChild(tr);
    });
  }

  function renderSource(f) {
    var pre = $('source'), src = M.sources && M.sources[String(f)];
    pre.textContent = '';
    if (!src) {
      var file = ffile(f);
      pre.appendChild(el('span', 'none', file === '~' ? 'A built-in function: no Python source.'
        : 'Source not available: the file could not be read when the report was made.'));
      return;
    }
    var first = src[0];
    src[1].forEach(function (text, i) {
      var line = el('span', i === 0 ? 'first' : null);
      line.appendChild(el('span', 'ln', String(first + i)));
      line.appendChild(document.createTextNode(text + '\n'));
      pre.appendChild(line);
    });
  }

  $('back').addEventListener('click', function () {
    if (historyAt > 0) { historyAt--; selectFunction(history[historyAt], false); }
  });
  $('forward').addEventListener('click', function () {
    if (historyAt < history.length - 1) { historyAt++; selectFunction(history[historyAt], false); }
  });
  $('close').addEventListener('click', function () {
    $('detail').hidden = true;
    document.body.removeAttribute('data-selected');
    renderCurrent();
  });
  $('detail-find').addEventListener('click', function () {
    var name = fname(selectedFunction);
    $('search').value = name;
    state.query = name;
    computeMatches();
    if (!(current === 'flame' || current === 'icicle' || current === 'squaremap')) showTab('flame');
    else renderCurrent();
  });

  /* ---- top-down and bottom-up trees ------------------------------------ */

  function treeRow(depth, label, f, value, selfValue, whole, expandable, onToggle) {
    var row = el('div', 'tn');
    row.setAttribute('role', 'treeitem');
    row.style.paddingLeft = (8 + depth * 14) + 'px';
    var tw = el('span', 'tw', expandable ? '\u25b8' : '');
    row.appendChild(tw);
    row.appendChild(el('span', 'pct', fmtPct(value / whole)));
    row.appendChild(el('span', 'self', selfValue === null ? '' : fmtPct(selfValue / whole)));
    var bar = el('span', 'bar'), fill = el('i');
    fill.style.width = Math.min(100, value / whole * 100) + '%';
    bar.appendChild(fill);
    row.appendChild(bar);
    row.appendChild(el('span', 'time', fmtTime(value)));
    var nm = el('span', 'nm', label);
    if (f >= 0) nm.addEventListener('click', function () { selectFunction(f, true); });
    row.appendChild(nm);
    row.appendChild(el('span', 'wh', f >= 0 ? fshortwhere(f) : ''));
    if (expandable) {
      var open = false, box = null;
      var toggle = function () {
        open = !open;
        tw.textContent = open ? '\u25be' : '\u25b8';
        row.setAttribute('aria-expanded', String(open));
        if (open) { box = el('div'); row.after(box); onToggle(box); } else if (box) { box.remove(); box = null; }
      };
      tw.addEventListener('click', toggle);
      row.toggle = toggle;
      row.isOpen = function () { return open; };
    }
    return row;
  }

  var TREE_CHILDREN = 200;

  function topDownChildren(box, node, depth, whole) {
    var ks = view.kids[node];
    ks.slice(0, TREE_CHILDREN).forEach(function (k) {
      var f = view.func[k];
      var row = treeRow(depth, fname(f), f, view.incl[k], view.self[k], whole, view.kids[k].length > 0,
        function (sub) { topDownChildren(sub, k, depth + 1, whole); });
      row.node = k;
      box.appendChild(row);
    });
    if (ks.length > TREE_CHILDREN)
      box.appendChild(el('div', 'tn more', (ks.length - TREE_CHILDREN) + ' smaller callees not shown'));
  }

  function renderTopDown() {
    if (!view) return;
    $('tree-title').textContent = 'Top-down: callers above their callees; percentages of the total';
    var tree = $('tree'), whole = view.incl[0] || 1;
    tree.textContent = '';
    topDownChildren(tree, 0, 0, whole);
    expandHottest();
  }

  function expandHottest() {
    var box = $('tree'), steps = 0;
    while (box && steps < 12) {
      var first = box.querySelector(':scope > .tn');
      if (!first || !first.toggle) break;
      if (!first.isOpen()) first.toggle();
      box = first.nextElementSibling;
      steps++;
    }
  }

  /* Bottom-up: each function's own time at the top, split by the paths
   * that led to it underneath (callers, then their callers...).  A row
   * stands for a set of tree nodes where the path ends the same way; its
   * value is the own time of the nodes the paths start from. */
  function bottomUpRoots() {
    var groups = new Map();
    for (var i = 1; i < view.n; i++) {
      if (!(view.self[i] > 0)) continue;
      var f = view.func[i], g = groups.get(f);
      if (!g) { g = { f: f, value: 0, pairs: [] }; groups.set(f, g); }
      g.value += view.self[i];
      g.pairs.push(i, i);
    }
    return Array.from(groups.values()).sort(function (a, b) { return b.value - a.value; });
  }

  function bottomUpChildren(group) {
    var groups = new Map();
    for (var i = 0; i < group.pairs.length; i += 2) {
      var leaf = group.pairs[i], at = group.pairs[i + 1], up = view.parent[at];
      if (up <= 0) continue;
      var f = view.func[up], g = groups.get(f);
      if (!g) { g = { f: f, value: 0, pairs: [] }; groups.set(f, g); }
      g.value += view.self[leaf];
      g.pairs.push(leaf, up);
    }
    return Array.from(groups.values()).sort(function (a, b) { return b.value - a.value; });
  }

  function bottomUpRows(box, groups, depth, whole) {
    groups.slice(0, TREE_CHILDREN).forEach(function (g) {
      var expandable = false;
      for (var i = 1; i < g.pairs.length; i += 2) if (view.parent[g.pairs[i]] > 0) { expandable = true; break; }
      var row = treeRow(depth, fname(g.f), g.f, g.value, depth === 0 ? g.value : null, whole, expandable,
        function (sub) { bottomUpRows(sub, bottomUpChildren(g), depth + 1, whole); });
      box.appendChild(row);
    });
    if (groups.length > TREE_CHILDREN)
      box.appendChild(el('div', 'tn more', (groups.length - TREE_CHILDREN) + ' smaller entries not shown'));
  }

  function renderBottomUp() {
    if (!view) return;
    $('tree-title').textContent = 'Bottom-up: functions by own time, with the paths that called them';
    var tree = $('tree'), whole = view.incl[0] || 1;
    tree.textContent = '';
    bottomUpRows(tree, bottomUpRoots(), 0, whole);
  }

  $('expand-hot').addEventListener('click', expandHottest);
  $('collapse-all').addEventListener('click', function () {
    var tree = $('tree'), whole = view.incl[0] || 1;
    tree.textContent = '';
    if (current === 'topdown') topDownChildren(tree, 0, 0, whole);
    else bottomUpRows(tree, bottomUpRoots(), 0, whole);
  });

  /* ---- a web request's transaction trace: the waterfall ----------------- */
  /* plumb.web writes it beside the profile and embeds it here for an HTML
   * per-request report (plumb/web/trace.py): segments by start, each with
   * its depth (a view inside its middleware, a query inside its view),
   * drawn from its start for its duration on the request's time axis;
   * duplicates and N+1 statements flagged, failures marked. */

  var KIND_LABEL = { middleware: 'middleware', view: 'view', template: 'template', http: 'HTTP' };

  function timelineSummary(tr) {
    var whole = Math.max(tr.duration || 0, 1e-9), sql = tr.sql || {};
    var parts = [tr.method + ' ' + tr.path + ' took ' + fmtTime(tr.duration)];
    if (sql.queries) parts.push(fmtCount(sql.queries) + ' SQL quer' + (sql.queries === 1 ? 'y' : 'ies') +
      ' in ' + fmtTime(sql.sql_seconds) + ' (' + fmtPct(sql.sql_seconds / whole) + ')');
    if (sql.templates) parts.push(fmtCount(sql.templates) + ' template render' +
      (sql.templates === 1 ? '' : 's') + ' in ' + fmtTime(sql.template_seconds));
    if (sql.http_calls) parts.push(fmtCount(sql.http_calls) + ' outbound HTTP call' +
      (sql.http_calls === 1 ? '' : 's') + ' in ' + fmtTime(sql.http_seconds));
    if ((sql.duplicates || []).length) parts.push(sql.duplicates.length + ' duplicated');
    if ((sql.n_plus_one || []).length) parts.push(sql.n_plus_one.length + ' N+1 pattern' +
      (sql.n_plus_one.length === 1 ? '' : 's'));
    if (tr.dropped_segments) parts.push(fmtCount(tr.dropped_segments) + ' more segments not kept');
    return parts.join(' \u00b7 ');
  }

  function renderTimeline() {
    var tr = M.trace, body = document.querySelector('#timeline tbody');
    body.textContent = '';
    var whole = Math.max(tr.duration || 0, 1e-9), sql = tr.sql || {};
    var dup = {}, n1 = {};
    (sql.duplicates || []).forEach(function (q) { dup[q] = 1; });
    (sql.n_plus_one || []).forEach(function (q) { n1[q] = 1; });
    $('timeline-summary').textContent = timelineSummary(tr);
    tr.segments.forEach(function (seg) {
      var row = el('tr');
      row.setAttribute('data-kind', seg.kind);
      var name = el('td', 'name');
      name.style.paddingLeft = (6 + 14 * Math.min(seg.depth || 0, 20)) + 'px';
      if (seg.kind !== 'sql') name.appendChild(el('span', 'kind', KIND_LABEL[seg.kind] || seg.kind));
      name.appendChild(document.createTextNode(seg.name));
      if (seg.detail) name.appendChild(el('span', 'detail', seg.kind === 'view' ? '(' + seg.detail + ')' : seg.detail));
      row.appendChild(name);
      row.appendChild(el('td', 'num', fmtTime(seg.start)));
      row.appendChild(el('td', 'num', fmtTime(seg.duration)));
      var flags = el('td');
      if (seg.kind === 'sql' && dup[seg.name]) flags.appendChild(el('span', 'flag', 'duplicate'));
      if (seg.kind === 'sql' && n1[seg.name]) flags.appendChild(el('span', 'flag', 'N+1'));
      if (seg.error) flags.appendChild(el('span', 'flag', seg.error));
      if (flags.childNodes.length) row.className = 'flagged';
      row.appendChild(flags);
      var cell = el('td', 'bar-cell'), wf = el('div', 'wf'), bar = el('i');
      bar.style.left = Math.min(100, seg.start / whole * 100) + '%';
      bar.style.width = Math.min(100, seg.duration / whole * 100) + '%';
      wf.appendChild(bar);
      cell.appendChild(wf);
      row.appendChild(cell);
      body.appendChild(row);
    });
  }

  /* ---- wiring ------------------------------------------------------------ */

  Array.prototype.forEach.call(document.querySelectorAll('#tabs button'), function (b) {
    b.addEventListener('click', function () { if (!b.disabled) showTab(b.getAttribute('data-view')); });
  });
  var searchTimer = null;
  $('search').addEventListener('input', function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      state.query = $('search').value;
      computeMatches();
      renderCurrent();
    }, 120);
  });
  $('filter').addEventListener('input', function () { renderTable(); });
  document.addEventListener('keydown', function (ev) {
    var typing = ev.target && (ev.target.tagName === 'INPUT' || ev.target.tagName === 'SELECT');
    if (ev.key === '/' && !typing) {
      ev.preventDefault();
      if (current === 'table') $('filter').focus(); else $('search').focus();
    } else if (ev.key === 'Escape' && view && state.focus !== 0 && !typing) {
      zoom(view.parent[state.focus]);
    }
  });
  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(renderCurrent, 100);
  });

  /* What the page shows, for tests and for anyone scripting the report. */
  window.plumbReport = {
    frames: function () {
      var box = canvas.getBoundingClientRect();
      var list = current === 'squaremap' ? squares : frames;
      return list.map(function (fr) {
        var f = view.func[fr.node];
        return { name: f < 0 ? threadLabel() : fname(f), where: fwhere(f), node: fr.node,
          x: box.left + fr.x, y: box.top + fr.y, w: fr.w, h: fr.h || ROW, depth: fr.depth || fr.d || 0 };
      });
    },
    focus: function () { return view.func[state.focus] < 0 ? null : fname(view.func[state.focus]); },
    matchShare: function () { return state.match ? state.matchShare : null; },
    view: function () { return current; },
    search: function (text) {   // as typing text in the search box, at once
      $('search').value = text;
      state.query = text;
      computeMatches();
      renderCurrent();
    },
    readyAt: null,   // ms since navigation when the first view was drawn
  };

  setupHeader();
  if (M.trace) document.querySelector('#tabs button[data-view="timeline"]').hidden = false;
  if (T) {
    state.view = view = buildView(-1);
  } else {
    ['flame', 'icicle', 'squaremap', 'topdown', 'bottomup'].forEach(function (v) {
      document.querySelector('#tabs button[data-view="' + v + '"]').disabled = true;
    });
  }
  var first = T ? 'flame' : 'table';
  // A page that embeds the report (the dashboard's trace) may ask for a view.
  if (M.view && document.querySelector('#tabs button[data-view="' + M.view + '"]')) {
    var asked = document.querySelector('#tabs button[data-view="' + M.view + '"]');
    if (!asked.disabled && !asked.hidden) first = M.view;
  }
  showTab(first);
  window.plumbReport.readyAt = performance.now();
  document.body.setAttribute('data-ready', '1');
})();
