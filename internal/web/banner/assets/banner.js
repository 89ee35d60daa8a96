// The Steward consent banner.
//
// This file is the body of a function: Steward minifies it once when it
// starts and serves it per property as
//
//   /*! Steward consent banner */(function(){"use strict";var C={...};
//   ...this file, minified...
//   })();
//
// so the property's configuration is the variable C (../CONTRACT.md lists its
// fields), every name below is local to that function, and `return` ends the
// banner. The only globals it makes are window.Steward and, with Google
// Consent Mode, dataLayer and gtag. banner.md explains the stored formats and
// the reasons behind the choices made here; docs/banner.md tells site owners
// how to use it.
//
// The minifier renames local names, drops comments and whitespace and
// shortens expressions; it changes no string, no property name and no
// behaviour. Write what browsers may run as it is (no transpiling: ES2021),
// and keep the download small: it reaches every visitor of every property.

var win = window, doc = document, nav = navigator, loc = location;

// A second copy of the banner on the page does nothing.
if (win.Steward) return;

// ---------------------------------------------------------------------------
// Configuration

var purposes = C.purposes || [],
  // The purposes a visitor chooses: all but the strictly necessary ones.
  optional = purposes.filter(p => !p.necessary),
  // The purposes that a "Do not sell or share" choice and GPC turn off.
  saleOrSharing = optional.filter(p => p.saleOrSharing),
  optOut = C.regime == 'opt_out',
  cookieName = C.cookie.name || 'stw_consent',
  maxAgeSeconds = (C.maxAgeDays || 365) * 86400,
  notice = C.notice,
  theme = C.theme || {},
  customTexts = C.texts || {},
  gpc = !!(nav.globalPrivacyControl || C.serverGpc),
  dnt = nav.doNotTrack == '1',
  // The privacy signal honoured: GPC, or Do Not Track when the property says so.
  signal = gpc || C.honourDnt && dnt;

// ---------------------------------------------------------------------------
// Language and strings

// The built-in UI strings, by language: the catalog's banner.* keys
// (internal/i18n/locales), which the server writes in place of the empty
// object below when it loads this script (texts.go). C.texts overrides them
// per language. {p} stands for a list of purposes, {h} for a host name.
var builtinTexts = /*builtin-texts*/{};

// The visitor's language: C.lang unless "auto", else the first of the
// browser's languages that the property offers (exact, then without region),
// else the property's first language.
var lang = (() => {
  var offered = (C.languages || []).filter(l => builtinTexts[l] || customTexts[l]),
    find = l => offered.find(o => o.toLowerCase() == l);
  for (var wanted of [C.lang || '', ...nav.languages]) {
    wanted = wanted.toLowerCase();
    var found = find(wanted) || find(wanted.split('-')[0]);
    if (found) return found;
  }
  return offered[0] || 'en';
})();

var dir = /^(ar|he|fa|ur)\b/i.test(lang) ? 'rtl' : 'ltr',
  // The UI strings in the visitor's language, English where one is missing.
  texts = {...builtinTexts.en, ...builtinTexts[lang], ...customTexts[lang]},
  // A purpose's name or description in the visitor's language, else English,
  // else any.
  translate = m => m ? m[lang] || m.en || Object.values(m)[0] : '',
  escapeHTML = s => String(s || '').replace(/[&<>"]/g, c => '&#' + c.charCodeAt(0) + ';'),
  // Outside secure contexts randomUUID is missing; a blob URL ends in a random UUID.
  uuid = () => crypto.randomUUID?.() || URL.createObjectURL(new Blob).slice(-36),
  // localStorage under the cookie name plus a suffix (banner.md lists them).
  // Missing or full storage loses a retry or a receipt, never the banner.
  load = key => {
    try {
      return JSON.parse(localStorage[cookieName + key]);
    } catch (e) {}
  },
  keep = (key, value) => {
    try {
      localStorage[cookieName + key] = JSON.stringify(value);
    } catch (e) {}
  };

// ---------------------------------------------------------------------------
// The stored choice

// The cookie version|time|device|regime|key:1/key:0 (banner.md), parsed into
// {v: notice version, t: time in ms, d: device id, o: given under opt-out,
// p: {purpose key: bool}}; undefined when missing or unreadable.
var stored = (() => {
  try {
    var fields = doc.cookie.match('(?:^|; )' + cookieName + '=([^;]*)')[1].split('|'), given = {};
    fields[4].split('/').map(pair => {
      pair = pair.split(':');
      given[pair[0]] = pair[1] == 1;
    });
    return {v: decodeURIComponent(fields[0]), t: parseInt(fields[1], 36) * 1e3, d: fields[2], o: fields[3] == 'o', p: given};
  } catch (e) {}
})();

// decided: the stored choice still holds. It does not after a material change
// of the notice, after maxAgeDays, when it was given under opt-out and opt-in
// applies now, and under opt-in when a purpose is new to it.
var decided = !!stored &&
    !(stored.v != notice.version && notice.material) &&
    Date.now() - stored.t < maxAgeSeconds * 1e3 &&
    !(stored.o && !optOut) &&
    (optOut || optional.every(p => p.key in stored.p)),
  deviceId = decided && stored.d,
  decidedAt = decided && stored.t,
  // The state: {purpose key: on}.
  state = {},
  // The device id is made only when first needed.
  device = () => deviceId ||= load('.d') || uuid(),
  // What no choice overrides: necessary purposes on, and sale or sharing off
  // under a privacy signal.
  enforce = choices => {
    purposes.map(p => {
      if (p.necessary) choices[p.key] = true;
      else if (signal && p.saleOrSharing) choices[p.key] = false;
    });
    return choices;
  },
  // Steward.consent()
  consent = () => ({...state, decidedAt: decided ? decidedAt : null, gpcHonoured: signal, deviceId: deviceId || null}),
  // The choices as tcf.js takes them.
  tcfChoices = () => ({purposes: {...state}, lang});

// Without a valid choice every purpose is off under opt-in and on under opt-out.
purposes.map(p => state[p.key] = decided && p.key in stored.p ? stored.p[p.key] : optOut);
enforce(state);

// ---------------------------------------------------------------------------
// Google Consent Mode v2

var consentMode = C.gcm && C.gcm.enabled,
  // gtag('consent', kind, ...): every type denied but those of the purposes on.
  consentModeCall = (kind, choices) => {
    var types = {};
    'ad_storage analytics_storage ad_user_data ad_personalization functionality_storage personalization_storage security_storage'
      .split(' ').map(t => types[t] = 'denied');
    purposes.map(p => choices[p.key] && (p.gcm || []).map(t => types[t] = 'granted'));
    if (kind == 'default') types.wait_for_update = C.gcm.waitForUpdate;
    win.gtag('consent', kind, types);
  };

if (consentMode) {
  win.dataLayer ||= [];
  win.gtag ||= function () {
    win.dataLayer.push(arguments);
  };
  consentModeCall('default', enforce({}));
}

// ---------------------------------------------------------------------------
// IAB TCF: all of it is in tcf.js, loaded only for properties that enable it.

var tcf,
  // Settles once tcf.js is loaded and initialised, or failed to.
  tcfReady = new Promise(done => {
    var init = () => {
      try {
        tcf = win.StewardTCF.init(C, {getChoices: () => decided ? tcfChoices() : null});
        decided && tcf.loaded(tcfChoices()).catch(done);
      } catch (e) {}
      done();
    };
    if (!C.tcf) return done();
    if (win.StewardTCF) return init();
    var script = doc.head.appendChild(doc.createElement('script'));
    script.onload = init;
    script.onerror = done;
    script.src = new URL(C.tcf.script, C.api);
  }),
  // A call into tcf.js that never throws: a missing or broken tcf.js leaves
  // the banner working.
  tcfCall = (method, arg) => tcfReady.then(() => tcf && tcf[method](arg)).catch(() => {});

/*gpp{*/
// ---------------------------------------------------------------------------
// IAB GPP: the __gpp CMP API is in banner-gpp.js (gpp.js), loaded for the
// visitors who get GPP (C.gpp: a US opt-out jurisdiction on a property that
// enables it). The server cuts every block between these markers out of
// the banner everybody else gets (../gpp.go): they download nothing of GPP.

var gpp, gppQueue = [],
  // Settles once banner-gpp.js is loaded and initialised, or failed to.
  gppReady = new Promise(done => {
    var script = doc.head.appendChild(doc.createElement('script'));
    script.onload = () => {
      try {
        gpp = win.StewardGPP.init(C, {choices: () => ({...state}), signal, gpc, visible: () => !!layer});
      } catch (e) {}
      done();
    };
    script.onerror = done;
    script.src = new URL(C.gpp.script, C.api);
  }),
  // A call into gpp.js that never throws, like tcfCall.
  gppCall = (method, arg) => gppReady.then(() => gpp && gpp[method](arg)).catch(() => {});

// The stub of the CMP API until banner-gpp.js takes over (a page's own stub
// stays): ping answers at once, other calls wait in the queue that __gpp()
// returns.
win.__gpp ||= (command, callback, ...rest) => command == 'ping' ? callback?.({
  gppVersion: '1.1', cmpStatus: 'stub', cmpDisplayStatus: 'hidden', signalStatus: 'not ready', supportedAPIs: C.gpp.supported,
  cmpId: C.gpp.cmpId, sectionList: [], applicableSections: [C.gpp.sectionId], gppString: ''
}, true) : command ? gppQueue.push([command, callback, ...rest]) : gppQueue;
/*}gpp*/

// ---------------------------------------------------------------------------
// Recording choices

var eventsURL = C.api + '/v1/consent/events?key=' + encodeURIComponent(C.key),
  sending,
  // record queues one event per [purpose, action] and sends the queue; the
  // TC string, when tcString settles within 1.5 s, goes into every event.
  record = (actions, source, tcString/*gpp{*/, gppString/*}gpp*/) => {
    keep('.d', device());
    var events = actions.map(([purpose, action]) => ({
      id: uuid(), property: C.property, device: deviceId, purpose, action, source,
      notice_version: notice.version, jurisdiction: C.jurisdiction, gpc, dnt
    }));
    /*gpp{*/
    // So does the GPP string: both within the same 1.5 s.
    tcString = Promise.all([tcString, gppString]).then(([tc, gs]) => {
      events.map(e => gs && (e.gpp_string = gs));
      return tc;
    });
    /*}gpp*/
    return Promise.race([tcString, new Promise(r => setTimeout(r, 1500))]).then(tc => {
      events.map(e => tc && (e.tc_string = tc));
      keep('.q', (load('.q') || []).concat(events));
      flush();
    });
  },
  // flush sends up to 100 queued events. They leave the queue only when the
  // server answered (a 4xx too: those would never pass), and the receipts of
  // the answer are kept (the last 200). A beacon cannot read the answer, so
  // its events stay queued and go again, with the same ids, from the next page.
  flush = () => {
    var queue = (load('.q') || []).slice(0, 100),
      body = JSON.stringify({events: queue}),
      ids = queue.map(e => e.id),
      notSent = x => !ids.includes(x.id);
    if (!queue[0] || sending) return;
    if (!win.fetch || doc.visibilityState == 'hidden') return nav.sendBeacon(eventsURL, body);
    sending = 1;
    // A string body makes a text/plain request: no CORS preflight.
    fetch(eventsURL, {method: 'POST', body, keepalive: true})
      .then(r => r.status < 500 ? r.json().catch(() => ({})) : Promise.reject())
      .then(answer => {
        keep('.q', (load('.q') || []).filter(notSent));
        keep('.r', (load('.r') || []).filter(notSent).concat((answer.results || []).filter(x => x.receipt)).slice(-200));
        sending = 0;
        flush();
      }, () => sending = 0);
  };

// ---------------------------------------------------------------------------
// Making the page follow the state: blocked scripts and iframes, cookies

var BLOCKED = 'script[type="text/plain"][data-steward-purpose],iframe[data-steward-purpose][data-src]',
  activating, activateAgain,
  // The purposes (space- or comma-separated) an element names that are off.
  missing = el => el.dataset.stewardPurpose.trim().split(/[\s,]+/).filter(k => !state[k]),
  // activate runs the blocked scripts whose purposes are all on, in document
  // order, once each: an external script loads before the next one runs.
  activate = () => {
    if (activating) return activateAgain = 1;
    activating = 1;
    var blocked = doc.querySelectorAll(BLOCKED), i = 0,
      next = () => {
        while (i < blocked.length) {
          var el = blocked[i++];
          if (!el.isConnected) continue;
          // Chromium drops a src set on an iframe in the microtask after the
          // parser inserted it: iframes wait for a task.
          if (el.tagName == 'IFRAME') setTimeout(frame, 0, el);
          else if (!missing(el).length) {
            var script = doc.createElement('script');
            for (var a of el.attributes) a.name != 'type' && script.setAttribute(a.name, a.value);
            // Browsers hide the nonce attribute; the property copies.
            script.nonce = el.nonce;
            script.text = el.text;
            el.replaceWith(script);
            if (script.src) return script.onload = script.onerror = next;
          }
        }
        activating = 0;
        if (activateAgain) {
          activateAgain = 0;
          activate();
        }
      };
    next();
  },
  // frame loads an iframe whose purposes are on; until then its own blank
  // document holds a button that turns the missing purposes on.
  frame = f => {
    var lack = missing(f), content = f.contentDocument;
    if (!f.dataset.src) return;
    if (!lack.length) {
      f.src = f.dataset.src;
      f.removeAttribute('data-src');
    } else if (content && !content.querySelector('button')) {
      var label = texts.load
        .replace('{h}', new URL(f.dataset.src, loc).hostname)
        .replace('{p}', lack.map(k => translate(purposes.find(p => p.key == k)?.name) || k).join(', '));
      f.title ||= label;
      content.documentElement.lang = lang;
      content.dir = dir;
      content.body.innerHTML = `<style>body{height:90vh;display:grid;place-items:center;font:15px system-ui}</style><button type=button>${escapeHTML(label)}</button>`;
      content.querySelector('button').onclick = () => choose(Object.assign({...state}, ...lack.map(k => ({[k]: true}))));
    }
  },
  // wipe deletes the cookies of the purposes that are off, host-only and on
  // every parent domain.
  wipe = () => {
    var labels = loc.hostname.split('.'), domains = [''], names = doc.cookie.split('; ');
    labels.map((_, i) => domains.push(labels.slice(i).join('.')));
    purposes.map(p => {
      if (state[p.key] || !p.cookies?.[0]) return;
      // Patterns with * wildcards.
      var pattern = RegExp('^(' + p.cookies.map(c => c.replace(/[^\w*-]/g, '\\$&').replace(/\*/g, '.*')).join('|') + ')$');
      names.map(c => {
        c = c.split('=')[0];
        if (pattern.test(c)) domains.map(m => doc.cookie = c + '=;path=/;max-age=0' + (m && ';domain=' + m));
      });
    });
  },
  sync = () => {
    if (consentMode) consentModeCall('update', state);
    wipe();
    activate();
  };

// ---------------------------------------------------------------------------
// Choosing

var listeners = [], resolveReady, ready = new Promise(r => resolveReady = r),
  // save writes the cookie (banner.md has its format).
  save = () => {
    decidedAt = Date.now();
    doc.cookie = cookieName + '=' + [
      encodeURIComponent(notice.version),
      (decidedAt / 1e3 | 0).toString(36),
      device(),
      optOut ? 'o' : 'i',
      optional.map(p => p.key + ':' + (state[p.key] ? 1 : 0)).join('/')
    ].join('|') +
      ';path=/;max-age=' + maxAgeSeconds + ';samesite=' + (C.cookie.sameSite || 'Lax') +
      (C.cookie.domain ? ';domain=' + C.cookie.domain : '') + (loc.protocol == 'https:' ? ';secure' : '');
  },
  // choose makes choices the state: one event per optional purpose, grant, or
  // withdraw when it was on by an earlier choice, else deny.
  choose = choices => {
    enforce(choices);
    var actions = optional.map(p => [p.key, choices[p.key] ? 'grant' : decided && state[p.key] ? 'withdraw' : 'deny']);
    state = choices;
    decided = true;
    save();
    sync();
    close(1);
    var c = consent();
    if (actions[0]) record(actions, 'banner', tcfCall('apply', tcfChoices())/*gpp{*/, gppCall('apply', {...state})/*}gpp*/);
    resolveReady(c);
    listeners.map(f => f(c));
  },
  // Closing the opt-out notice keeps it from coming back on every page, but
  // records nothing: nobody chose anything.
  dismiss = () => {
    if (!decided) save();
    close();
  };

// ---------------------------------------------------------------------------
// The dialog

// Every rule under #steward-banner ($), and all:revert on every element, so
// that the page's CSS cannot reach the banner.
var CSS = `$ {all:initial;position:fixed;z-index:2147483646;font:15px/1.5 system-ui,sans-serif;color:var(--t)}
$ *{all:revert;box-sizing:border-box}
$ [hidden]{display:none!important}
$ .stw-o{position:fixed;inset:0;display:grid;place-items:var(--pos) center;padding:1rem;background:#0007}
$ .stw-d{width:100%;max-width:42rem;max-height:100%;overflow:auto;padding:1.25rem 1.5rem;background:var(--b);border-radius:var(--r)}
$ h2{margin:0;font-size:1.25rem}
$ a{color:inherit}
$ input,$ summary{cursor:pointer}
$ button{font:inherit;cursor:pointer;min-height:2.75rem;padding:0 1rem;border:2px solid var(--a);border-radius:var(--r);background:var(--a);color:var(--at);font-weight:600}
$ .stw-b{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:1rem}
$ .stw-b button{flex:1 1 10rem}
$ .stw-x,$ .stw-k{border-color:currentColor;background:none;color:inherit}
$ .stw-h,$ .stw-q{display:flex;align-items:center;justify-content:space-between;gap:1rem;font-weight:600}
$ ul{list-style:none;padding:0}
$ li{padding:.5rem 0;border-top:1px solid #8c959f}
$ input{flex:none;width:1.5rem;height:1.5rem;margin:0;accent-color:var(--a)}
$ .stw-re{position:fixed;bottom:1rem;inset-inline-start:1rem}
$ :focus-visible{outline:3px solid var(--t);outline-offset:2px}
$ .stw-d{outline:0}
@media (prefers-reduced-motion:no-preference){$ .stw-d{animation:stw .2s}}@keyframes stw{from{opacity:0}}`.replace(/\$/g, '#steward-banner');

var root, dialog, reopen,
  // The open layer: 0 closed, 1 first, 2 preferences.
  layer,
  // The element to give focus back to on closing.
  focusBack,
  whenBody = f => doc.body ? f() : doc.addEventListener('DOMContentLoaded', f),
  // ui builds the banner's elements, once: the overlay with the dialog, and
  // the reopen button.
  ui = () => {
    if (root) return;
    // A constructed stylesheet needs no 'unsafe-inline'; a <style> element
    // where those are missing.
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
    } catch (e) {
      doc.head.appendChild(doc.createElement('style')).textContent = CSS;
    }
    root = doc.body.appendChild(doc.createElement('div'));
    root.id = 'steward-banner';
    root.lang = lang;
    root.dir = dir;
    root.style.cssText = `--b:${theme.background || '#fff'};--t:${theme.text || '#1f2328'};--a:${theme.accent || '#0b57d0'};--at:${theme.accentText || '#fff'};--r:${theme.radius || 8}px;--pos:${{top: 'start', center: 'center'}[theme.position] || 'end'}`;
    root.innerHTML = `<div class=stw-o hidden><div class=stw-d role=dialog aria-modal=true aria-labelledby=stw-t aria-describedby="stw-x${signal ? ' stw-g' : ''}" tabindex=-1 lang=${lang} dir=${dir}></div></div>` +
      `<button type=button class=stw-re data-a=open hidden>${escapeHTML(texts.title)}</button>`;
    dialog = root.firstChild.firstChild;
    reopen = root.lastChild;
    // Every button says what it does in data-a.
    root.onclick = e => {
      var action = e.target.closest('[data-a]')?.dataset.a, choices = {...state};
      if (action == 'accept' || action == 'reject') {
        purposes.map(p => choices[p.key] = action == 'accept');
        choose(choices);
      } else if (action == 'dns') {
        saleOrSharing.map(p => choices[p.key] = false);
        choose(choices);
      } else if (action == 'save') {
        dialog.querySelectorAll('input').forEach(i => choices[i.dataset.k] = i.checked);
        choose(choices);
      } else if (action == 'custom') show(2);
      else if (action == 'back') show(1, 'custom');
      else if (action == 'ok') dismiss();
      else if (action == 'open') show(1);
      else if (action == 'rcpt') {
        var link = doc.createElement('a');
        link.href = URL.createObjectURL(new Blob([JSON.stringify({property: C.property, device: deviceId, receipts: load('.r')})], {type: 'application/json'}));
        link.download = 'consent-receipts.json';
        link.click();
      }
    };
  },
  // A row of equal buttons (no dark pattern); falsy actions are left out.
  buttons = actions => '<div class=stw-b>' +
    actions.filter(Boolean).map(a => `<button type=button data-a=${a}>${escapeHTML(texts[a])}</button>`).join('') + '</div>',
  // The heading (with Back on the preferences) and the text under it.
  intro = text => `<div class=stw-h><h2 id=stw-t>${escapeHTML(texts.title)}</h2>` +
    `${layer > 1 ? `<button type=button class=stw-x data-a=back>${escapeHTML(texts.back)}</button>` : ''}</div>` +
    `<p id=stw-x>${text} ${escapeHTML(texts.later)} <a href="${escapeHTML(notice.url)}">${escapeHTML(texts.notice)}</a></p>` +
    (signal ? `<p id=stw-g><b>${escapeHTML(texts.gpc)}</b></p>` : ''),
  firstLayer = () =>
    intro(escapeHTML(texts.intro.replace('{p}', optional.map(p => translate(p.name)).join(', ')))) +
    buttons(optOut ? [saleOrSharing[0] && 'dns', 'custom', 'ok'] : ['accept', 'reject', 'custom']),
  // The preferences: a switch per purpose (necessary ones and, under a
  // signal, sale or sharing locked), its vendors, and the receipts.
  secondLayer = () => intro('') +
    '<ul>' + purposes.map(p => {
      var id = 'stw-p-' + p.key, vendors = p.vendors || [];
      return `<li><div class=stw-q><label for=${id} dir=auto>${escapeHTML(translate(p.name))}</label>` +
        `<input type=checkbox id=${id} data-k=${p.key} aria-describedby=${id}-d` +
        `${state[p.key] ? ' checked' : ''}${p.necessary || signal && p.saleOrSharing ? ' disabled' : ''}></div>` +
        `<p id=${id}-d dir=auto>${escapeHTML(translate(p.description))}</p>` +
        (vendors[0] ? `<details><summary>${escapeHTML(texts.vendors)} (${vendors.length})</summary>` +
          vendors.map(v => `${v.privacyUrl ? `<a href="${escapeHTML(v.privacyUrl)}" target=_blank>${escapeHTML(v.name)}</a>` : escapeHTML(v.name)} ${escapeHTML(v.country)}`).join(', ') +
          '</details>' : '') +
        '</li>';
    }).join('') + '</ul>' +
    buttons(['accept', 'reject', 'save']) +
    (load('.r')?.[0] ? `<button type=button class=stw-k data-a=rcpt>${escapeHTML(texts.receipts)}</button>` : '') +
    // The company's transparency page: every purpose, vendor and figure.
    `<p><a href="${escapeHTML(C.api)}/transparency" target=_blank>${escapeHTML(texts.transparency)}</a></p>`,
  // show opens layer n and focuses the button then (else the dialog); soon
  // waits for the first frame, so that focusing does not force the page's
  // first layout inside the banner's task.
  show = (n, then, soon) => {
    ui();
    if (!layer) {
      focusBack = doc.activeElement;
      tcfCall('uiShown', tcfChoices());
      /*gpp{*/
      gppCall('shown', !soon);
      /*}gpp*/
    }
    layer = n;
    dialog.innerHTML = n > 1 ? secondLayer() : firstLayer();
    reopen.hidden = true;
    dialog.parentNode.hidden = false;
    var focus = () => (then && dialog.querySelector(`[data-a=${then}]`) || dialog).focus();
    soon ? requestAnimationFrame(() => setTimeout(focus)) : focus();
  },
  close = chosen => {
    if (!layer) return;
    layer = 0;
    dialog.parentNode.hidden = true;
    reopen.hidden = !optOut;
    chosen || tcfCall('uiHidden');
    /*gpp{*/
    gppCall('hidden', chosen);
    /*}gpp*/
    (focusBack?.isConnected && focusBack != doc.body ? focusBack : reopen).focus();
  };

// Keys while the dialog is open: Escape goes back from the preferences and
// closes a first layer only when that is a valid choice; Enter toggles a
// switch; Tab stays in the dialog.
doc.addEventListener('keydown', e => {
  var active = doc.activeElement, key = e.key;
  if (!layer) return;
  if (key == 'Escape') {
    e.preventDefault();
    layer > 1 ? show(1, 'custom') : (optOut || decided) && dismiss();
  } else if (key == 'Enter' && active.type == 'checkbox') {
    e.preventDefault();
    active.click();
  } else if (key == 'Tab') {
    var focusable = [...dialog.querySelectorAll('a,button')],
      outside = !dialog.contains(active) || active == dialog;
    if (e.shiftKey ? outside || active == focusable[0] : outside && active != dialog || active == focusable.at(-1)) {
      e.preventDefault();
      focusable.at(e.shiftKey ? -1 : 0).focus();
    }
  }
}, true);

// ---------------------------------------------------------------------------
// Start

win.Steward = {
  consent,
  ready,
  open: () => whenBody(() => show(1)),
  on: (type, f) => type == 'change' && listeners.push(f)
};

if (decided || optOut) {
  sync();
  resolveReady(consent());
} else activate();

// Blocked elements that the parser or the page add later.
new MutationObserver(mutations => {
  for (var m of mutations)
    for (var n of m.addedNodes)
      if (n.nodeType == 1 && (n.matches(BLOCKED) || n.childElementCount && n.querySelector(BLOCKED))) return activate();
}).observe(doc.documentElement, {childList: true, subtree: true});

// Under a privacy signal, deny sale and sharing once per device.
if (signal && saleOrSharing[0] && load('.g') != device())
  record(saleOrSharing.map(p => [p.key, 'deny']), 'gpc', tcfCall('tcString')/*gpp{*/, gppCall('string')/*}gpp*/).then(() => keep('.g', deviceId));

// Retry what earlier pages could not send, a moment after the page's scripts
// (events are queued only by a choice).
decided && setTimeout(flush, 99);

// Open the first layer at once without a valid choice (if there is anything to
// choose); under opt-out with a choice, show the reopen button.
whenBody(() => decided || !optional[0] ? optOut && (ui(), reopen.hidden = false) : show(1, 0, 1));
