// The Steward consent snippet for the company's own forms (sign-up,
// checkout, contact).
//
// Like banner.js, this file is the body of a function: Steward minifies it
// once when it starts and serves it per property and form as
//
//   /*! Steward consent form */(function(){"use strict";var C={...};
//   ...this file, minified...
//   })();
//
// C is the form's configuration (../CONTRACT.md, "The form snippet"). Every
// name below is local; the only global it makes is window.StewardForm,
// which holds each form's {record, start} by form id.
// docs/forms.md tells site owners how to use it.
//
// What it does: in each element marked data-steward-form inside a <form>, it
// shows the purposes the declared form asks for as unticked checkboxes with
// their descriptions and a link to the privacy notice. When the form is
// submitted it records one event per purpose (grant when ticked, deny when
// not) as a device event with source form:<id> and the notice version, then
// puts the device id and the signed receipts in hidden inputs
// (steward_device, steward_receipt) and lets the form go on to the
// company's back end, which links them to the customer. Without the banner
// too: it shares the banner's device id when the banner made one.

var win = window, doc = document, nav = navigator;

// A second copy of the same form's snippet does nothing.
if (win.StewardForm?.[C.form]) return;

// The built-in strings by language: the catalog's form.* keys, written here
// by the server (texts.go).
var builtinTexts = /*builtin-texts*/{};

// The page's language first (the form is written in it), then the browser's.
var lang = (() => {
  var offered = Object.keys(builtinTexts);
  for (var wanted of [doc.documentElement.lang, ...nav.languages]) {
    wanted = (wanted || '').toLowerCase().split('-')[0];
    if (offered.includes(wanted)) return wanted;
  }
  return 'en';
})();

var texts = {...builtinTexts.en, ...builtinTexts[lang]},
  translate = m => m ? m[lang] || m.en || Object.values(m)[0] : '',
  uuid = () => crypto.randomUUID?.() || URL.createObjectURL(new Blob).slice(-36),
  // The banner keeps its device id in localStorage under the cookie name
  // plus ".d" (banner.md); the form uses the same device, or makes one.
  deviceKey = (C.cookie || 'stw_consent') + '.d',
  device = () => {
    var id;
    try {
      id = JSON.parse(localStorage[deviceKey] || 'null') || uuid();
      localStorage[deviceKey] = JSON.stringify(id);
    } catch (e) {
      id ||= uuid();
    }
    return id;
  },
  el = (tag, props, ...children) => {
    var e = Object.assign(doc.createElement(tag), props);
    e.append(...children);
    return e;
  },
  hidden = (form, name, value) => form.appendChild(el('input', {type: 'hidden', name, value}));

// record sends the choices of one rendered form ({purpose key: ticked}) and
// answers with {device, receipts}; it rejects when Steward did not record them.
var record = choices => {
  var id = device(),
    events = Object.keys(choices).map(purpose => ({
      id: uuid(), property: C.property, device: id, purpose, action: choices[purpose] ? 'grant' : 'deny',
      source: 'form:' + C.form, notice_version: C.notice.version, jurisdiction: C.jurisdiction,
      gpc: !!nav.globalPrivacyControl
    }));
  // A string body makes a text/plain request: no CORS preflight.
  return fetch(C.api + '/v1/consent/events?key=' + encodeURIComponent(C.key), {method: 'POST', body: JSON.stringify({events})})
    .then(r => r.json().then(answer => r.ok ? answer : Promise.reject(answer)))
    .then(answer => ({device: id, receipts: answer.results.map(x => x.receipt)}));
};

// render fills one placeholder and wires its form.
var render = (slot, n) => {
  var form = slot.closest('form'),
    prefix = 'stw-' + C.form + '-' + n + '-',
    status = el('p', {role: 'status', className: 'stw-form-status'}),
    boxes = C.purposes.map(p => {
      var box = el('input', {type: 'checkbox', id: prefix + p.key, value: p.key}),
        description = translate(p.description),
        hint = description && el('span', {id: prefix + p.key + '-d', className: 'stw-form-hint'}, description);
      if (hint) box.setAttribute('aria-describedby', hint.id);
      slot.append(el('div', {className: 'stw-form-purpose'}, box, ' ', el('label', {htmlFor: box.id}, translate(p.name)), ...(hint ? [el('br'), hint] : [])));
      return box;
    }),
    // pass lets the submission the snippet makes itself go through; busy
    // holds a second click while the choices are being recorded; added are
    // the hidden inputs of the last recording, replaced by the next.
    pass, busy, added = [];
  // The notice opens in a new tab: what was typed in the form stays.
  slot.prepend(el('p', {}, texts.intro, ...(C.notice.url ? [' ', el('a', {href: C.notice.url, target: '_blank', rel: 'noopener'}, texts.notice)] : [])));
  slot.prepend(el('legend', {}, texts.title));
  slot.append(status);
  if (!form) return;
  // Capture: runs before the page's own handlers, which then see the
  // receipts in the form when it is submitted again.
  form.addEventListener('submit', e => {
    if (pass) return pass = 0;
    e.preventDefault();
    e.stopImmediatePropagation();
    if (busy) return;
    busy = 1;
    var choices = {};
    boxes.map(b => choices[b.value] = b.checked);
    added.map(input => input.remove());
    status.textContent = texts.saving;
    record(choices).then(answer => {
      added = [hidden(form, 'steward_device', answer.device), ...answer.receipts.map(r => hidden(form, 'steward_receipt', r))];
      status.textContent = texts.saved;
      form.dispatchEvent(new CustomEvent('steward:recorded', {detail: answer}));
    }, () => {
      // The form still goes: without receipts, the back end knows that no
      // choice was recorded and does not act on one.
      added = [];
      status.textContent = texts.failed;
    }).finally(() => {
      busy = 0;
      // If the page's own handlers stop this submission, the next one
      // records the choices again, as they are then.
      form.requestSubmit ? (pass = 1, form.requestSubmit(e.submitter)) : form.submit();
    });
  }, true);
};

var start = () => doc.querySelectorAll('[data-steward-form]').forEach((slot, n) => {
  var wanted = slot.dataset.stewardForm;
  if (slot.dataset.stewardReady || wanted && wanted != C.form) return;
  slot.dataset.stewardReady = 1;
  // A <fieldset> groups the checkboxes for screen readers; a <div>
  // placeholder gets one inside.
  render(slot.tagName == 'FIELDSET' ? slot : slot.appendChild(el('fieldset', {className: 'stw-form'})), n);
});

(win.StewardForm ||= {})[C.form] = {record, start};
doc.readyState == 'loading' ? doc.addEventListener('DOMContentLoaded', start) : start();
