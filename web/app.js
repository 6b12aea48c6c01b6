// The status page: one EventSource on /events (server-sent events: a snapshot, then what changed), no
// polling, no framework, no build step. Served by the status listener (src/status/child.ts).

(() => {
  const $ = (id) => document.getElementById(id);
  const instances = new Map();
  let recent = [];
  let filter = '';

  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
  };
  const ago = (iso) => {
    if (!iso) return '';
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    return s < 90
      ? `${s.toFixed(0)} s ago`
      : s < 5400
        ? `${(s / 60).toFixed(0)} min ago`
        : `${(s / 3600).toFixed(1)} h ago`;
  };

  function card(i) {
    const trackers = el('div', { class: 'chips' });
    for (const t of i.trackers) {
      const label =
        t.value !== null && t.value !== undefined
          ? `${t.name}=${t.value}`
          : `${t.name} ${t.ok === null ? '?' : t.ok ? 'up' : 'down'}`;
      trackers.append(
        el('span', {
          class: `chip ${t.ok === true ? 'ok' : t.ok === false ? 'bad' : ''}`,
          title: t.kind,
          text: label,
        }),
      );
    }
    const l = i.lastTransition;
    const master =
      i.state === 'MASTER'
        ? 'this router is master'
        : i.masterAddress
          ? `master ${i.masterAddress}`
          : 'no master seen';
    const prio = i.priority === i.basePriority ? `${i.priority}` : `${i.priority} (base ${i.basePriority})`;
    return el(
      'article',
      { class: 'card', 'data-instance': i.name, 'data-state': i.state },
      el(
        'div',
        { class: 'top' },
        el('span', { class: 'name', text: i.name }),
        el('span', { class: 'state', 'data-state': i.state, text: i.state }),
      ),
      el('div', {
        class: 'meta',
        text: `${i.interface} · VRID ${i.vrid} · priority ${prio}${i.syncGroup ? ` · group ${i.syncGroup}` : ''}`,
      }),
      el('div', { class: 'meta master', text: master }),
      el('div', { class: 'vips', text: i.vips.join(' ') || 'no VIPs' }),
      i.trackers.length ? trackers : null,
      l
        ? el('div', {
            class: 'why',
            'data-at': l.at,
            text: `${l.from ? `${l.from} → ` : ''}${l.to} ${ago(l.at)}${l.reason ? `: ${l.reason}` : ''}`,
          })
        : null,
    );
  }

  function renderInstance(i) {
    instances.set(i.name, i);
    const old = document.querySelector(`[data-instance="${CSS.escape(i.name)}"]`);
    const fresh = card(i);
    fresh.hidden = !!filter && !i.name.toLowerCase().includes(filter);
    if (old) old.replaceWith(fresh);
    else $('instances').append(fresh);
  }

  function renderAll(list) {
    instances.clear();
    $('instances').replaceChildren();
    for (const i of list) renderInstance(i);
    if (list.length === 0) $('instances').append(el('p', { class: 'empty', text: 'no VRRP instances' }));
  }

  function summary() {
    let m = 0;
    let f = 0;
    for (const i of instances.values()) {
      if (i.state === 'MASTER') m++;
      if (i.state === 'FAULT') f++;
    }
    $('summary').textContent = `${instances.size} instances · ${m} master here${f ? ` · ${f} FAULT` : ''}`;
  }

  function renderTransitions() {
    const ol = $('transitions');
    ol.replaceChildren();
    for (const t of recent.slice(-20).reverse())
      ol.append(
        el('li', {
          text: `${new Date(t.atMs).toLocaleTimeString()} ${t.instance}: ${t.from} → ${t.to} (${t.reason})`,
        }),
      );
    if (recent.length === 0) ol.append(el('li', { class: 'empty', text: 'none since the listener started' }));
  }

  function renderVirtualServers(list) {
    $('vs-section').hidden = list.length === 0;
    const box = $('virtual-servers');
    box.replaceChildren();
    for (const vs of list) {
      const t = el('table', {}, el('caption', { text: vs.name }));
      t.append(
        el(
          'tr',
          {},
          ...['real server', 'state', 'weight', 'latency', 'checks'].map((h) => el('th', { text: h })),
        ),
      );
      for (const r of vs.realServers) {
        const last = r.history[r.history.length - 1];
        t.append(
          el(
            'tr',
            { 'data-rs': r.name },
            el('td', { text: r.name }),
            el('td', {
              class: r.alive ? 'up' : 'down',
              text: `${r.alive ? 'UP' : 'DOWN'}${last ? ` ${ago(last.at)}` : ''}`,
              // The checker's reason for the last change, on hover.
              title: last?.reason ?? null,
            }),
            el('td', { text: `${r.weight.effective}/${r.weight.configured}` }),
            el('td', { text: `${r.latency.ewmaMs.toFixed(1)} ms` }),
            el('td', { text: `${r.latency.checks} (${r.latency.failures} failed)` }),
          ),
        );
      }
      box.append(t);
    }
  }

  // Bytes in the short form a phone has room for (IEC-free: kB = 1000 B, as ipvsadm --stats prints K).
  const bytes = (n) => {
    const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
    let k = 0;
    while (n >= 1000 && k < units.length - 1) {
      n /= 1000;
      k++;
    }
    return `${k === 0 ? n : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[k]}`;
  };
  const PROTO = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };
  const flow = (b, p) =>
    el(
      'td',
      { class: 'num', title: `${p} packets, ${b} bytes` },
      bytes(b),
      el('small', { text: `${p} pkt` }),
    );

  /** The data plane's counters (/status `traffic`): per virtual server its real servers and its total. */
  function renderTraffic(list) {
    $('traffic-section').hidden = !list || list.length === 0;
    const box = $('traffic');
    box.replaceChildren();
    for (const vs of list || []) {
      const t = el('table', { class: 'traffic', 'data-traffic': vs.addr });
      t.append(el('caption', { text: `${vs.addr} ${PROTO[vs.proto] || vs.proto}` }));
      t.append(
        el(
          'tr',
          {},
          ...['real server', 'conns', 'in', 'out'].map((h, i) =>
            el('th', { class: i ? 'num' : null, text: h }),
          ),
        ),
      );
      const row = (name, x, attrs) =>
        el(
          'tr',
          attrs,
          el('td', { text: name }),
          el('td', { class: 'num conns', text: String(x.conns) }),
          flow(x.inBytes, x.inPackets),
          flow(x.outBytes, x.outPackets),
        );
      for (const r of vs.reals) {
        const name = r.address.includes(':') ? `[${r.address}]:${r.port}` : `${r.address}:${r.port}`;
        t.append(row(name, r.traffic, { 'data-rs': name }));
      }
      t.append(row('total', vs.total, { class: 'total' }));
      box.append(t);
    }
  }

  function setConn(state, text) {
    const c = $('conn');
    c.dataset.conn = state;
    c.textContent = text;
  }

  function connect() {
    const es = new EventSource('events');
    es.addEventListener('open', () => setConn('live', 'live'));
    es.addEventListener('error', () => setConn('lost', 'reconnecting…'));
    es.addEventListener('snapshot', (e) => {
      const d = JSON.parse(e.data);
      renderAll(d.instances);
      recent = d.recent;
      renderTransitions();
      renderVirtualServers(d.virtualServers);
      renderTraffic(d.traffic);
      setConn(d.up ? 'live' : 'stale', d.up ? 'live' : 'daemon not reporting');
      summary();
    });
    es.addEventListener('tick', (e) => {
      const d = JSON.parse(e.data);
      for (const i of d.instances) renderInstance(i);
      setConn(d.up ? 'live' : 'stale', d.up ? 'live' : 'daemon not reporting');
      summary();
    });
    es.addEventListener('transition', (e) => {
      const d = JSON.parse(e.data);
      renderInstance(d.instance);
      recent.push(d.t);
      if (recent.length > 50) recent.shift();
      renderTransitions();
      summary();
    });
    es.addEventListener('realServers', (e) => renderVirtualServers(JSON.parse(e.data)));
    es.addEventListener('traffic', (e) => renderTraffic(JSON.parse(e.data)));
  }

  $('filter').addEventListener('input', (e) => {
    filter = e.target.value.trim().toLowerCase();
    for (const c of document.querySelectorAll('[data-instance]'))
      c.hidden = !!filter && !c.dataset.instance.toLowerCase().includes(filter);
  });
  setInterval(() => {
    for (const w of document.querySelectorAll('.why[data-at]')) {
      const i = instances.get(w.closest('[data-instance]').dataset.instance);
      const l = i?.lastTransition;
      if (l)
        w.textContent = `${l.from ? `${l.from} → ` : ''}${l.to} ${ago(l.at)}${l.reason ? `: ${l.reason}` : ''}`;
    }
  }, 10000);
  connect();
})();
