/* gcompile viewer: pan/zoom, search, tooltips, forward/backward links, groups, chain-rule paths.
   Plain JavaScript, no network.  User text (keys, labels, values) comes from the JSON block and
   is only ever written with textContent or setAttribute, never parsed as markup. */
(function () {
  'use strict';
  var started = performance.now();
  var SVGNS = 'http://www.w3.org/2000/svg';
  var data = JSON.parse(document.getElementById('gc-data').textContent);
  var nodes = data.nodes;
  var canvas = document.getElementById('gc-canvas');
  var svg = canvas.querySelector('svg');
  var stage = document.getElementById('gc-stage');
  var graph0 = svg.querySelector('g.graph') || svg;
  var tip = document.getElementById('gc-tip');
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  // ------------------------------------------------------------ index the SVG
  var bbox = new Map();   // node element -> its box in the diagram's coordinates
  var byId = Object.create(null);
  var byDot = Object.create(null);
  nodes.forEach(function (n, i) { n.els = []; byId[n.id] = i; n.group = -1; });
  data.groups.forEach(function (g, j) { g.members.forEach(function (i) { nodes[i].group = j; }); });
  Array.prototype.forEach.call(svg.querySelectorAll('g.node'), function (e) {
    var i = byId[e.id];
    if (i === undefined) { i = byId[e.id.split('_')[0]]; }   // leaves drawn once per use
    if (i === undefined) { return; }
    byDot[e.getAttribute('data-dot')] = i;
    var n = nodes[i];
    n.els.push(e);
    e.setAttribute('data-node', String(i));
    e.setAttribute('tabindex', '0');
    e.setAttribute('role', 'button');
    e.setAttribute('aria-label', (n.side === 'b' ? 'backward node ' : 'node ') + n.key +
                   (n.op ? ', op ' + n.op : ''));
    Array.prototype.forEach.call(e.querySelectorAll('text'), function (t) {
      var s = t.textContent;
      if (s.slice(0, 2) === '= ') { t.classList.add('gc-value'); }
      else if (n.rule && s.slice(0, 12) === n.rule.slice(0, 12)) { t.classList.add('gc-rule'); }
    });
  });
  var edges = [];
  var edgeOf = Object.create(null);
  Array.prototype.forEach.call(svg.querySelectorAll('g.edge'), function (e) {
    var ends = (e.getAttribute('data-dot') || '').split('->');
    var a = byDot[ends[0]], b = byDot[ends[1]];
    var edge = {el: e, a: a, b: b};
    edges.push(edge);
    if (a === undefined || b === undefined) { return; }
    edgeOf[a + ',' + b] = edgeOf[b + ',' + a] = edge;
    var na = nodes[a], nb = nodes[b];
    if ((na.side === 'f' && nb.side === 'b') || na.role === 'forward_value') {
      e.classList.add('gc-residual');
    }
  });

  // ------------------------------------------------------------ pan and zoom
  var base = svg.viewBox.baseVal;
  var home = {x: base.x, y: base.y, w: base.width, h: base.height};
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  svg.setAttribute('tabindex', '-1');   // Tab goes from the canvas straight to the nodes
  // The diagram is laid out once at its own size (1 unit = 1 px); pan and zoom are a CSS
  // transform of its box: the browser re-rasters, it never lays the text out again
  // (changing the viewBox or an SVG transform's scale does, seconds on big graphs).
  svg.style.width = home.w + 'px';
  svg.style.height = home.h + 'px';
  var at = {k: 1, x: 0, y: 0};   // screen = at.k * (diagram - home) + at.(x, y), canvas pixels
  function size() { return {w: canvas.clientWidth || 800, h: canvas.clientHeight || 600}; }
  function apply() {
    // on a box around the svg element: a transform on the svg itself makes the browser
    // shape every text again for the new scale
    stage.style.transform = 'matrix(' + at.k + ',0,0,' + at.k + ',' + at.x + ',' + at.y + ')';
    var c = size();
    svg.setAttribute('data-view', [home.x - at.x / at.k, home.y - at.y / at.k, c.w / at.k,
                                   c.h / at.k].join(' '));
  }
  function fit() {
    var c = size();
    var k = Math.min(c.w / home.w, c.h / home.h);
    at = {k: k, x: (c.w - k * home.w) / 2, y: (c.h - k * home.h) / 2};
    apply();
  }
  var kmin, kmax;
  function zoom(f, cx, cy) {
    var r = canvas.getBoundingClientRect();
    var px = cx === undefined ? r.width / 2 : cx - r.left;
    var py = cy === undefined ? r.height / 2 : cy - r.top;
    var k = Math.min(Math.max(at.k * f, kmin), kmax);
    at = {k: k, x: px - (px - at.x) * k / at.k, y: py - (py - at.y) * k / at.k};
    apply();
  }
  function pan(dx, dy) {   // by a fraction of the window
    var c = size();
    at.x -= dx * c.w; at.y -= dy * c.h;
    apply();
  }
  // a node's box read from its outline's attributes (Graphviz writes absolute coordinates):
  // no layout is forced, so nodes hidden in collapsed groups are never laid out
  var NUM = /-?\d*\.?\d+(?:e-?\d+)?/g;
  function shapeBox(e) {
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    var shapes = e.querySelectorAll('ellipse, polygon, path');
    for (var k = 0; k < shapes.length; k++) {
      var sh = shapes[k];
      if (sh.tagName === 'ellipse') {
        var cx = +sh.getAttribute('cx'), cy = +sh.getAttribute('cy');
        var rx = +sh.getAttribute('rx'), ry = +sh.getAttribute('ry');
        x0 = Math.min(x0, cx - rx); x1 = Math.max(x1, cx + rx);
        y0 = Math.min(y0, cy - ry); y1 = Math.max(y1, cy + ry);
      } else {
        var nums = (sh.getAttribute(sh.tagName === 'path' ? 'd' : 'points') || '').match(NUM) || [];
        for (var q = 0; q + 1 < nums.length; q += 2) {
          var x = +nums[q], y = +nums[q + 1];
          if (x < x0) { x0 = x; } if (x > x1) { x1 = x; }
          if (y < y0) { y0 = y; } if (y > y1) { y1 = y; }
        }
      }
    }
    return x0 === Infinity ? {x: 0, y: 0, width: 0, height: 0}
      : {x: x0, y: y0, width: x1 - x0, height: y1 - y0};
  }
  var m0 = graph0.transform && graph0.transform.baseVal.numberOfItems
    ? graph0.transform.baseVal.consolidate().matrix : svg.createSVGMatrix();
  function boxOf(e) {   // an element's box in the root's viewBox units
    var b = bbox.get(e) || shapeBox(e);
    var p = svg.createSVGPoint(), q = svg.createSVGPoint();
    p.x = b.x; p.y = b.y; q.x = b.x + b.width; q.y = b.y + b.height;
    p = p.matrixTransform(m0); q = q.matrixTransform(m0);
    return {x: Math.min(p.x, q.x), y: Math.min(p.y, q.y), w: Math.abs(q.x - p.x), h: Math.abs(q.y - p.y)};
  }
  function center(e) {   // move a node to the middle, zooming in until it is legible
    var b = boxOf(e), c = size();
    var k = Math.max(at.k, Math.min(1, c.w / Math.max(b.w * 8, 400)));
    at = {k: k, x: c.w / 2 - k * (b.x + b.w / 2 - home.x), y: c.h / 2 - k * (b.y + b.h / 2 - home.y)};
    apply();
  }
  canvas.addEventListener('wheel', function (e) {
    e.preventDefault();
    zoom(Math.exp(-e.deltaY * 0.0015), e.clientX, e.clientY);
  }, {passive: false});
  var drag = null;
  canvas.addEventListener('pointerdown', function (e) {
    if (e.button !== 0 || e.target.closest('g.node, g.gc-group')) { return; }
    drag = {x: e.clientX, y: e.clientY, moved: false};
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', function (e) {
    if (!drag) { return; }
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 2) { drag.moved = true; canvas.classList.add('gc-dragging'); }
    at.x += dx; at.y += dy;
    drag.x = e.clientX; drag.y = e.clientY;
    apply();
  });
  canvas.addEventListener('pointerup', function () {
    if (drag && !drag.moved) { clearSelection(); }
    drag = null;
    canvas.classList.remove('gc-dragging');
  });
  $('gc-zoom-in').onclick = function () { zoom(1.25); };
  $('gc-zoom-out').onclick = function () { zoom(0.8); };
  $('gc-fit').onclick = fit;

  // ------------------------------------------------------------ describing a node
  function rows(n) {
    var out = [];
    if (n.label !== undefined && n.label !== n.key) { out.push(['label', n.label]); }
    out.push(['op', n.op + (n.kind === 'residual_node' ? ' (forward value kept)' : '')]);
    out.push(['graph', n.side === 'b' ? 'backward' : (data.mode === 'pair' ? 'forward' : 'graph')]);
    if (n.shape !== undefined) { out.push(['shape', n.shape]); }
    if (n.dtype !== undefined) { out.push(['dtype', n.dtype]); }
    if (n.value) {
      if (n.value.stats || n.value.first) {
        if (n.value.stats) { out.push(['value', n.value.stats]); }
        if (n.value.first) { out.push(['first', n.value.first]); }
      } else { out.push(['value', n.value.text]); }
    }
    if (n.grad_key !== undefined) {
      var g = n.grad ? (n.grad.stats ? n.grad.stats + '\nfirst ' + (n.grad.first || '') : n.grad.text) : '';
      out.push(['gradient', n.grad_key + (g ? ' = ' + g : '')]);
    }
    if (n.rule !== undefined) { out.push(['rule', n.rule]); }
    if (n.origin !== undefined) { out.push(['origin', n.origin]); }
    if (n.role !== undefined) { out.push(['role', n.role]); }
    if (n.group >= 0) { out.push(['group', data.groups[n.group].name]); }
    return out;
  }
  function describe(n) {
    var frag = document.createDocumentFragment();
    frag.appendChild(el('b', n.key));
    var dl = el('dl', null, 'gc-kv');
    rows(n).forEach(function (r) { dl.appendChild(el('dt', r[0])); dl.appendChild(el('dd', r[1])); });
    frag.appendChild(dl);
    return frag;
  }
  function showTip(i, x, y) {
    tip.replaceChildren(describe(nodes[i]));
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var left = x + 14, top = y + 14;
    if (left + w > window.innerWidth - 4) { left = Math.max(4, x - w - 14); }
    if (top + h > window.innerHeight - 4) { top = Math.max(4, y - h - 14); }
    tip.style.left = left + 'px'; tip.style.top = top + 'px';
  }
  function hideTip() { tip.hidden = true; }
  function nodeOf(target) {
    var g = target && target.closest ? target.closest('g.node') : null;
    return g && g.hasAttribute('data-node') ? +g.getAttribute('data-node') : -1;
  }
  svg.addEventListener('pointerover', function (e) {
    var i = nodeOf(e.target);
    if (i >= 0) { showTip(i, e.clientX, e.clientY); }
  });
  svg.addEventListener('pointermove', function (e) {
    if (!tip.hidden && nodeOf(e.target) >= 0) { showTip(nodeOf(e.target), e.clientX, e.clientY); }
  });
  svg.addEventListener('pointerout', function (e) { if (nodeOf(e.target) >= 0) { hideTip(); } });
  svg.addEventListener('focusin', function (e) {
    var i = nodeOf(e.target);
    if (i < 0) { return; }
    var r = e.target.getBoundingClientRect(), c = canvas.getBoundingClientRect();
    if (r.right < c.left || r.left > c.right || r.bottom < c.top || r.top > c.bottom) {
      center(e.target);
      r = e.target.getBoundingClientRect();
    }
    showTip(i, r.right, r.bottom);
  });
  svg.addEventListener('focusout', hideTip);

  // ------------------------------------------------------------ selection and links
  var lit = [];
  var selected = -1;
  var pathLit = [], pathEdges = [];
  function mark(list, cls, on) {
    list.forEach(function (i) { nodes[i].els.forEach(function (e) { e.classList.toggle(cls, on); }); });
  }
  function clearSelection() {
    mark(lit, 'gc-lit', false);
    if (selected >= 0) { mark([selected], 'gc-sel', false); }
    Array.prototype.forEach.call(svg.querySelectorAll('g.edge.gc-lit'), function (e) {
      e.classList.remove('gc-lit');
    });
    lit = []; selected = -1;
    if (!pathLit.length) { svg.classList.remove('gc-focus'); }
    var sel = $('gc-sel');
    sel.replaceChildren(el('p', 'Click a node, or Tab to it and press Enter. Escape clears.', 'gc-hint'));
    document.body.removeAttribute('data-selected');
  }
  function reveal(i) {
    var g = nodes[i].group;
    if (g >= 0 && data.groups[g].collapsed) { setCollapsed(g, false); }
  }
  function jump(i, focus) {
    reveal(i);
    var e = nodes[i].els[0];
    if (!e) { return; }
    center(e);
    if (focus) { e.focus({preventScroll: true}); }
  }
  function select(i) {
    clearSelection();
    selected = i;
    var n = nodes[i];
    lit = n.links.slice();
    mark([i], 'gc-sel', true);
    mark(lit, 'gc-lit', true);
    var on = {}; on[i] = true;
    lit.forEach(function (j) { on[j] = true; reveal(j); });
    edges.forEach(function (ed) {
      if (ed.a !== undefined && ed.b !== undefined && on[ed.a] && on[ed.b] && (ed.a === i || ed.b === i)) {
        ed.el.classList.add('gc-lit');
      }
    });
    if (lit.length) { svg.classList.add('gc-focus'); }
    document.body.setAttribute('data-selected', String(i));
    var box = $('gc-sel');
    box.replaceChildren(describe(n));
    if (lit.length) {
      var what = n.side === 'b' ? 'its forward origin and the forward values it reads'
        : 'its gradient and the backward nodes that differentiate it';
      box.appendChild(el('p', 'Linked (' + what + '):', 'gc-hint'));
      var ul = el('ul');
      lit.forEach(function (j) {
        var li = el('li');
        var b = el('button', nodes[j].key, 'gc-link');
        b.type = 'button';
        b.title = 'jump to ' + (nodes[j].side === 'b' ? 'backward' : 'forward') + ' node';
        b.onclick = function () { jump(j, true); };
        li.appendChild(b);
        li.appendChild(document.createTextNode(nodes[j].side === 'b' ? ' (backward)' : ' (forward)'));
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
  }
  svg.addEventListener('click', function (e) {
    var i = nodeOf(e.target);
    if (i >= 0) { e.stopPropagation(); select(i); }
  });
  svg.addEventListener('keydown', function (e) {
    var i = nodeOf(e.target);
    if (i >= 0 && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); select(i); }
  });

  // ------------------------------------------------------------ search
  var matches = [], current = -1;
  function setCurrent(k) {
    if (current >= 0 && matches[current] !== undefined) { mark([matches[current]], 'gc-current', false); }
    current = k;
    if (k < 0) { return; }
    mark([matches[k]], 'gc-current', true);
    $('gc-count').textContent = (k + 1) + ' of ' + matches.length;
    jump(matches[k], false);
  }
  function search(q) {
    setCurrent(-1);
    mark(matches, 'gc-match', false);
    q = q.trim().toLowerCase();
    matches = [];
    if (q) {
      for (var i = 0; i < nodes.length; i++) {
        if (nodes[i].search.indexOf(q) >= 0) { matches.push(i); }
      }
    }
    mark(matches, 'gc-match', true);
    $('gc-count').textContent = q ? (matches.length ? matches.length + ' found' : 'no match') : '';
    document.body.setAttribute('data-matches', String(matches.length));
    if (matches.length) { setCurrent(0); }
  }
  function step(d) {
    if (matches.length) { setCurrent((current + d + matches.length) % matches.length); }
  }
  var field = $('gc-search');
  field.addEventListener('input', function () { search(field.value); });
  field.addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { e.preventDefault(); step(e.shiftKey ? -1 : 1); }
  });
  $('gc-next').onclick = function () { step(1); };
  $('gc-prev').onclick = function () { step(-1); };

  // ------------------------------------------------------------ groups
  var layer = document.createElementNS(SVGNS, 'g');
  layer.setAttribute('class', 'gc-groups');
  var firstNode = graph0.querySelector('g.node, g.edge');
  graph0.insertBefore(layer, firstNode);
  // a collapsed group is drawn as boxes over its members; members far apart (other nodes
  // between them) get separate boxes rather than one box hiding unrelated nodes
  var centers = [];
  nodes.forEach(function (n, i) {
    n.els.forEach(function (e) {
      var b = shapeBox(e);
      bbox.set(e, b);
      centers.push({i: i, x: b.x + b.width / 2, y: b.y + b.height / 2});
    });
  });
  function grow(box, b) {
    return {x0: Math.min(box.x0, b.x), y0: Math.min(box.y0, b.y),
            x1: Math.max(box.x1, b.x + b.width), y1: Math.max(box.y1, b.y + b.height)};
  }
  var CELL = 200, grid = new Map();   // node centres bucketed, so a box is checked locally
  centers.forEach(function (c) {
    var key = Math.floor(c.x / CELL) + ',' + Math.floor(c.y / CELL);
    if (!grid.has(key)) { grid.set(key, []); }
    grid.get(key).push(c);
  });
  function clean(box, j) {   // no other node's centre inside box
    for (var gx = Math.floor(box.x0 / CELL); gx <= Math.floor(box.x1 / CELL); gx++) {
      for (var gy = Math.floor(box.y0 / CELL); gy <= Math.floor(box.y1 / CELL); gy++) {
        var cell = grid.get(gx + ',' + gy) || [];
        for (var k = 0; k < cell.length; k++) {
          var c = cell[k];
          if (c.x > box.x0 && c.x < box.x1 && c.y > box.y0 && c.y < box.y1 &&
              nodes[c.i].group !== j) { return false; }
        }
      }
    }
    return true;
  }
  function parts(j, side) {
    var out = [];
    data.groups[j].members.forEach(function (i) {
      if (nodes[i].side !== side) { return; }
      nodes[i].els.forEach(function (e) {
        var b = bbox.get(e);
        for (var k = 0; k < out.length; k++) {
          var merged = grow(out[k].box, b);
          if (clean(merged, j)) { out[k].box = merged; out[k].count += 1; return; }
        }
        out.push({box: {x0: b.x, y0: b.y, x1: b.x + b.width, y1: b.y + b.height}, count: 1});
      });
    });
    return out;
  }
  function groupBox(g, j, side, part, many) {
    var b = part.box, count = part.count;
    var pad = 6;
    var box = document.createElementNS(SVGNS, 'g');
    box.setAttribute('class', 'gc-group gc-hidden');
    box.setAttribute('tabindex', '0');
    box.setAttribute('role', 'button');
    box.setAttribute('data-group', String(j));
    box.setAttribute('aria-label', 'expand group ' + g.name + ' (' + count + ' nodes)');
    var r = document.createElementNS(SVGNS, 'rect');
    r.setAttribute('x', b.x0 - pad); r.setAttribute('y', b.y0 - pad);
    r.setAttribute('width', b.x1 - b.x0 + 2 * pad); r.setAttribute('height', b.y1 - b.y0 + 2 * pad);
    r.setAttribute('rx', 8);
    box.appendChild(r);
    var t = document.createElementNS(SVGNS, 'text');
    t.setAttribute('x', b.x0 + 2); t.setAttribute('y', b.y0 + 10);
    t.textContent = (side === 'b' ? 'd ' : '') + g.name + (many ? ' (part)' : '');
    box.appendChild(t);
    var s = document.createElementNS(SVGNS, 'text');
    s.setAttribute('x', b.x0 + 2); s.setAttribute('y', b.y0 + 23);
    s.setAttribute('class', 'gc-sub');
    s.textContent = count + ' node' + (count === 1 ? '' : 's');
    box.appendChild(s);
    layer.appendChild(box);
    return box;
  }
  var found = data.groups.map(function (g, j) { return [parts(j, 'f'), parts(j, 'b')]; });
  data.groups.forEach(function (g, j) {
    g.collapsed = false;
    g.boxes = [];
    ['f', 'b'].forEach(function (side, k) {
      var all = found[j][k];
      all.forEach(function (part) { g.boxes.push(groupBox(g, j, side, part, all.length > 1)); });
    });
  });
  function setCollapsed(j, on) {
    var g = data.groups[j];
    g.collapsed = on;
    g.members.forEach(function (i) { nodes[i].els.forEach(function (e) { detach(e, on); }); });
    g.boxes.forEach(function (b) { b.classList.toggle('gc-hidden', !on); });
    g.inner.forEach(function (e) { detach(e, on); });
    if (on !== g.wasCollapsed) {
      hiddenEls += (on ? 1 : -1) * g.elCount;
      g.wasCollapsed = on;
    }
    var b = g.button;
    if (b) {
      b.textContent = (on ? '\u25b8 ' : '\u25be ') + g.name + ' (' + g.members.length + ')';
      b.setAttribute('aria-expanded', on ? 'false' : 'true');
    }
    document.body.setAttribute('data-visible', String(visibleCount()));
  }
  // a collapsed group's nodes and inner edges leave the document (a comment keeps their
  // place): the browser neither styles nor lays out what nobody sees
  var holes = new Map();
  function detach(e, on) {
    if (on && !holes.has(e) && e.parentNode) {
      var c = document.createComment('');
      e.replaceWith(c);
      holes.set(e, c);
    } else if (!on && holes.has(e)) {
      holes.get(e).replaceWith(e);
      holes.delete(e);
    }
  }
  var totalEls = svg.querySelectorAll('g.node').length, hiddenEls = 0;
  function visibleCount() { return totalEls - hiddenEls; }
  data.groups.forEach(function (g) {
    g.inner = []; g.wasCollapsed = false;
    g.elCount = g.members.reduce(function (t, i) { return t + nodes[i].els.length; }, 0);
  });
  edges.forEach(function (ed) {   // edges inside a group hide with it
    if (ed.a === undefined || ed.b === undefined) { return; }
    var ga = nodes[ed.a].group;
    if (ga >= 0 && ga === nodes[ed.b].group) { data.groups[ga].inner.push(ed.el); }
  });
  layer.addEventListener('click', function (e) {
    var box = e.target.closest('g.gc-group');
    if (box) { e.stopPropagation(); setCollapsed(+box.getAttribute('data-group'), false); }
  });
  layer.addEventListener('keydown', function (e) {
    var box = e.target.closest('g.gc-group');
    if (box && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      setCollapsed(+box.getAttribute('data-group'), false);
    }
  });
  var list = $('gc-groups');
  data.groups.forEach(function (g, j) {
    var li = el('li');
    var b = el('button', '', 'gc-link');
    b.type = 'button';
    b.onclick = function () { setCollapsed(j, !g.collapsed); };
    g.button = b;
    li.appendChild(b);
    list.appendChild(li);
  });
  $('gc-collapse-all').onclick = function () { data.groups.forEach(function (g, j) { setCollapsed(j, true); }); };
  $('gc-expand-all').onclick = function () { data.groups.forEach(function (g, j) { setCollapsed(j, false); }); };
  if (!data.groups.length) { $('gc-groups-box').hidden = true; }

  // ------------------------------------------------------------ chain-rule paths
  function clearPaths() {
    mark(pathLit, 'gc-path', false);
    pathEdges.forEach(function (e) { e.classList.remove('gc-path'); });
    pathLit = []; pathEdges = [];
    if (!lit.length) { svg.classList.remove('gc-focus'); }
    Array.prototype.forEach.call(document.querySelectorAll('.gc-path-item.gc-on'), function (li) {
      li.classList.remove('gc-on');
    });
  }
  function lightPaths(list) {
    clearPaths();
    var on = {};
    list.forEach(function (p) {
      p.nodes.forEach(function (i, k) {
        on[i] = true;
        if (nodes[i].grad_node !== undefined) { on[nodes[i].grad_node] = true; }
        var ed = k ? edgeOf[p.nodes[k - 1] + ',' + i] : null;
        if (ed) { ed.el.classList.add('gc-path'); pathEdges.push(ed.el); }
      });
    });
    pathLit = Object.keys(on).map(Number);
    pathLit.forEach(reveal);
    mark(pathLit, 'gc-path', true);
    svg.classList.toggle('gc-focus', pathLit.length > 0 || lit.length > 0);
  }
  var outSel = $('gc-output'), wrtSel = $('gc-wrt');
  var outputs = [], wrts = [];
  data.paths.forEach(function (t) {
    if (outputs.indexOf(t.output) < 0) { outputs.push(t.output); }
    if (wrts.indexOf(t.wrt) < 0) { wrts.push(t.wrt); }
  });
  outputs.forEach(function (i) { var o = el('option', nodes[i].key); o.value = String(i); outSel.appendChild(o); });
  var none = el('option', '(none)'); none.value = '';
  wrtSel.appendChild(none);
  wrts.forEach(function (i) { var o = el('option', nodes[i].key); o.value = String(i); wrtSel.appendChild(o); });
  function showPaths() {
    var ol = $('gc-paths');
    ol.replaceChildren();
    clearPaths();
    if (wrtSel.value === '') { return; }
    var term = data.paths.filter(function (t) {
      return String(t.output) === outSel.value && String(t.wrt) === wrtSel.value;
    })[0];
    if (!term) { ol.appendChild(el('li', 'no path: the derivative is 0', 'gc-hint')); return; }
    term.paths.forEach(function (p) {
      var names = p.nodes.map(function (i) { return nodes[i].key; }).join(' \u2190 ');
      var li = el('li', null, 'gc-path-item');
      li.appendChild(el('span', names));
      if (p.product !== undefined) {
        li.appendChild(el('div', p.factors.join(' \u00d7 ') + ' = ' + p.product, 'gc-num'));
      }
      li.tabIndex = 0;
      li.onclick = function () { lightPaths([p]); li.classList.add('gc-on'); };
      li.onkeydown = function (e) { if (e.key === 'Enter') { li.onclick(); } };
      ol.appendChild(li);
    });
    var sum = term.total !== undefined ? 'sum: ' + term.total + ' (backward pass: ' + term.backward + ')' : '';
    if (term.capped) { sum = 'first ' + term.paths.length + ' paths only (there are more)' + (sum ? '; partial ' + sum : ''); }
    if (sum) { ol.appendChild(el('p', sum, 'gc-num')); }
    lightPaths(term.paths);
  }
  outSel.onchange = showPaths;
  wrtSel.onchange = showPaths;
  if (!data.paths.length) { $('gc-chain').hidden = true; }

  // ------------------------------------------------------------ toggles, keys
  [['gc-values', 'gc-no-values'], ['gc-rules', 'gc-no-rules'], ['gc-residual', 'gc-no-residual']]
    .forEach(function (p) {
      var box = $(p[0]);
      box.onchange = function () { document.body.classList.toggle(p[1], !box.checked); };
    });
  if (!svg.querySelector('.gc-residual')) { $('gc-residual').parentNode.hidden = true; }
  if (!svg.querySelector('.gc-rule')) { $('gc-rules').parentNode.hidden = true; }
  if (!svg.querySelector('.gc-value')) { $('gc-values').parentNode.hidden = true; }
  function clearAll() {
    clearSelection();
    hideTip();
    if (field.value) { field.value = ''; search(''); }
    if (wrtSel.value !== '') { wrtSel.value = ''; showPaths(); }
  }
  document.addEventListener('keydown', function (e) {
    var tag = e.target.tagName;
    if (e.key === 'Escape') { clearAll(); if (tag === 'INPUT' || tag === 'SELECT') { e.target.blur(); } return; }
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA' || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var moves = {ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, -0.1], ArrowDown: [0, 0.1]};
    if (e.key === '/') { e.preventDefault(); field.focus(); field.select(); }
    else if (e.key === '+' || e.key === '=') { zoom(1.25); }
    else if (e.key === '-' || e.key === '_') { zoom(0.8); }
    else if (e.key === '0') { fit(); }
    else if (moves[e.key]) { e.preventDefault(); pan(moves[e.key][0], moves[e.key][1]); }
  });

  if (data.collapsed) { data.groups.forEach(function (g, j) { setCollapsed(j, true); }); }
  else { data.groups.forEach(function (g, j) { setCollapsed(j, false); }); }
  canvas.classList.remove('gc-loading');   // laid out now, with collapsed groups left out
  fit();
  kmin = at.k / 4;
  kmax = Math.max(4, at.k * 4);
  document.body.setAttribute('data-visible', String(visibleCount()));
  document.body.setAttribute('data-init-ms', String(Math.round(performance.now() - started)));
  document.body.setAttribute('data-ready', '1');
}());
