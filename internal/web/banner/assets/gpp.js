/*! Steward consent banner: IAB GPP CMP API v1.1 (gpp.js) */
// Served as /banner-gpp.js and loaded by banner.js only for visitors in a US
// opt-out jurisdiction of properties that enable GPP (C.gpp, ../CONTRACT.md).
// It defines window.StewardGPP = {init(C, hooks)}; init installs the __gpp
// function of the IAB GPP "CMP API" v1.1 (ping, addEventListener,
// removeEventListener, hasSection, getSection, getField), takes over the
// calls a stub queued, answers calls that iframes post through the
// __gppLocator frame, and returns what banner.js drives (see init).
//
// It writes one section, C.gpp.section: the MSPA US National section or a
// state's, from the visitor's choices and Global Privacy Control, in the
// encoding of "Consent String Specification" v1 as IAB's iabgpp-es and
// Steward's internal/gpp write it (fields big-endian, each part padded with
// zero bits to whole bytes, then to whole base64url characters). ES2021, no
// dependencies, no build step; the server minifies it once when it starts.
(() => {
  'use strict';

  var win = window;
  if (win.StewardGPP) return;

  var BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
    // The core fields of each section after Version, in order: a 2-bit
    // field, or name:n for a list of n 2-bit fields; then the version this
    // script writes and whether the section has a GPC sub-section. The three
    // MSPA fields close every one of them.
    SECTIONS = {
      usnat: ['SharingNotice SaleOptOutNotice SharingOptOutNotice TargetedAdvertisingOptOutNotice SensitiveDataProcessingOptOutNotice SensitiveDataLimitUseNotice SaleOptOut SharingOptOut TargetedAdvertisingOptOut SensitiveDataProcessing:16 KnownChildSensitiveDataConsents:3 PersonalDataConsents', 2, 1],
      usca: ['SaleOptOutNotice SharingOptOutNotice SensitiveDataLimitUseNotice SaleOptOut SharingOptOut SensitiveDataProcessing:9 KnownChildSensitiveDataConsents:2 PersonalDataConsents', 1, 1],
      usva: ['SharingNotice SaleOptOutNotice TargetedAdvertisingOptOutNotice SaleOptOut TargetedAdvertisingOptOut SensitiveDataProcessing:8 KnownChildSensitiveDataConsents', 1, 0],
      usco: ['SharingNotice SaleOptOutNotice TargetedAdvertisingOptOutNotice SaleOptOut TargetedAdvertisingOptOut SensitiveDataProcessing:7 KnownChildSensitiveDataConsents', 1, 1],
      usut: ['SharingNotice SaleOptOutNotice TargetedAdvertisingOptOutNotice SensitiveDataProcessingOptOutNotice SaleOptOut TargetedAdvertisingOptOut SensitiveDataProcessing:8 KnownChildSensitiveDataConsents', 1, 0],
      usct: ['SharingNotice SaleOptOutNotice TargetedAdvertisingOptOutNotice SaleOptOut TargetedAdvertisingOptOut SensitiveDataProcessing:8 KnownChildSensitiveDataConsents:3', 1, 1]
    },
    MSPA = ' MspaCoveredTransaction MspaOptOutOptionMode MspaServiceProviderMode';

  // ---------------------------------------------------------------------
  // Encoding. Bits are strings of '0' and '1'.

  var bits = (value, width) => value.toString(2).padStart(width, '0'),
    // base64url pads with zero bits to a whole number of bytes, then of
    // 6-bit characters.
    base64url = b => {
      b = b.padEnd(Math.ceil(b.length / 8) * 8, '0');
      b = b.padEnd(Math.ceil(b.length / 6) * 6, '0');
      return b.match(/.{6}/g).map(c => BASE64URL[parseInt(c, 2)]).join('');
    },
    // fibonacci is the Fibonacci code word of n >= 1: its Zeckendorf
    // representation over 1, 2, 3, 5, 8..., lowest term first, and a
    // closing 1.
    fibonacci = n => {
      var terms = [1, 2], word = [];
      while (terms.at(-1) <= n) terms.push(terms.at(-1) + terms.at(-2));
      terms.pop();
      for (var i = terms.length; i--;) {
        word[i] = terms[i] <= n ? 1 : 0;
        if (word[i]) n -= terms[i];
      }
      return word.join('') + '1';
    },
    // header is the GPP header of a string holding the one section id: type
    // 3, version 1, and a Fibonacci range of one entry.
    header = id => base64url(bits(3, 6) + bits(1, 6) + bits(1, 12) + '0' + fibonacci(id));

  // ---------------------------------------------------------------------

  // init installs __gpp for the configuration C and returns what banner.js
  // calls: string() (the current GPP string), apply(choices) (after a
  // choice: the new string), shown(byVisitor) and hidden(chosen) (the
  // dialog). hooks
  // gives the visitor's choices ({purpose key: on}), the privacy signal
  // honoured (GPC, or DNT when the property says so), the GPC signal itself
  // and whether the dialog is open.
  var init = (C, hooks) => {
    var cfg = C.gpp,
      name = cfg.section,
      layout = SECTIONS[name],
      fields = (layout[0] + MSPA).split(' '),
      cmpStatus = 'loading',
      displayStatus = hooks.visible() ? 'visible' : 'hidden',
      signalStatus = 'not ready',
      gppString = '',
      parsed,
      listeners = new Map(),
      lastId = 0;

    // optOut is a section's value for an opt-out by refusing purposes: 1
    // opted out (a purpose refused, or a privacy signal), 2 not, 0 not
    // applicable (no purpose of the kind). notice: 1 given, 0 not
    // applicable; the banner is the notice.
    var optOut = (keys, choices) => !keys[0] ? 0 : hooks.signal || keys.some(k => !choices[k]) ? 1 : 2,
      notice = keys => keys[0] ? 1 : 0,
      // build sets the section's fields and string from choices.
      build = choices => {
        var values = {
            SharingNotice: notice(cfg.sharing),
            SaleOptOutNotice: notice(cfg.sale),
            SharingOptOutNotice: notice(cfg.sharing),
            TargetedAdvertisingOptOutNotice: notice(cfg.targeted),
            SaleOptOut: optOut(cfg.sale, choices),
            SharingOptOut: optOut(cfg.sharing, choices),
            TargetedAdvertisingOptOut: optOut(cfg.targeted, choices),
            MspaCoveredTransaction: cfg.mspa[0],
            MspaOptOutOptionMode: cfg.mspa[1],
            MspaServiceProviderMode: cfg.mspa[2]
          },
          core = bits(layout[1], 6);
        parsed = {Version: layout[1]};
        fields.map(field => {
          var [key, n] = field.split(':');
          parsed[key] = n ? Array(+n).fill(0) : values[key] || 0;
          core += n ? '00'.repeat(n) : bits(parsed[key], 2);
        });
        var text = base64url(core);
        if (layout[2]) {
          // The GPC sub-section: SubsectionType 1, then the signal.
          Object.assign(parsed, {GpcSegmentType: 1, GpcSegmentIncluded: true, Gpc: !!hooks.gpc});
          text += '.' + base64url('01' + (hooks.gpc ? 1 : 0));
        }
        gppString = header(cfg.sectionId) + '~' + text;
      };

    var copy = () => JSON.parse(JSON.stringify(parsed)),
      ping = () => ({
        gppVersion: '1.1', cmpStatus, cmpDisplayStatus: displayStatus, signalStatus,
        supportedAPIs: cfg.supported, cmpId: cfg.cmpId, sectionList: [cfg.sectionId], applicableSections: [cfg.sectionId],
        gppString, parsedSections: {[name]: copy()}
      }),
      // A caller's callback: its exceptions stay its own.
      answer = (callback, data, success) => {
        try {
          callback(data, success);
        } catch (e) {
          setTimeout(() => {
            throw e;
          });
        }
      },
      fire = (eventName, data) => listeners.forEach((callback, listenerId) =>
        answer(callback, {eventName, listenerId, data, pingData: ping()}, true)),
      // set changes a status and tells the listeners when it changed.
      setSignal = status => status != signalStatus && fire('signalStatus', signalStatus = status),
      setDisplay = status => status != displayStatus && fire('cmpDisplayStatus', displayStatus = status),
      commands = {
        ping: callback => answer(callback, ping(), true),
        addEventListener: callback => {
          listeners.set(++lastId, callback);
          answer(callback, {eventName: 'listenerRegistered', listenerId: lastId, data: true, pingData: ping()}, true);
        },
        removeEventListener: (callback, id) => answer(callback, listeners.delete(+id), true),
        hasSection: (callback, section) => answer(callback, section == name, true),
        getSection: (callback, section) => answer(callback, section == name ? copy() : null, true),
        getField: (callback, path) => {
          var [section, field] = String(path).split('.');
          answer(callback, section == name && field in parsed ? copy()[field] : null, true);
        }
      },
      // __gpp(command, callback, parameter, version); __gpp() returns no
      // queue once the CMP is loaded.
      api = (command, callback, parameter) => {
        if (typeof callback != 'function') return;
        if (commands.hasOwnProperty(command)) commands[command](callback, parameter);
        else answer(callback, null, false);
      };

    build(hooks.choices());

    // Take over from a stub: the listeners IAB's stub registered (it keeps
    // them in __gpp.events) keep their ids and hear what follows; the calls
    // it queued (IAB's stub and banner.js's return their queue when called
    // without arguments) run in order.
    var stub = win.__gpp, queued = [];
    try {
      queued = typeof stub == 'function' && stub() || [];
    } catch (e) {}
    (Array.isArray(stub?.events) ? stub.events : []).map(l => {
      if (typeof l?.callback == 'function' && +l.id > 0) {
        listeners.set(+l.id, l.callback);
        lastId = Math.max(lastId, +l.id);
      }
    });
    win.__gpp = api;
    (Array.isArray(queued) ? queued : []).map(call => api(...call));

    // Frames reach the CMP through postMessage, finding this window by its
    // child frame named __gppLocator.
    win.addEventListener('message', e => {
      var data = e.data, text = typeof data == 'string', call;
      try {
        call = (text ? JSON.parse(data) : data)?.__gppCall;
      } catch (err) {}
      if (!call || !e.source) return;
      api(call.command, (returnValue, success) => {
        var reply = {__gppReturn: {returnValue, success, callId: call.callId}};
        e.source.postMessage(text ? JSON.stringify(reply) : reply, '*');
      }, call.parameter);
    });
    var locate = () => {
      if (win.frames.__gppLocator) return;
      var frame = document.createElement('iframe');
      frame.name = '__gppLocator';
      frame.style.display = 'none';
      frame.title = 'GPP locator';
      frame.setAttribute('aria-hidden', 'true');
      document.body.appendChild(frame);
    };
    document.body ? locate() : document.addEventListener('DOMContentLoaded', locate);

    // Loaded: the string is the signal from now on (under opt-out, no
    // choice is a valid choice), whether or not the notice is open.
    fire('cmpStatus', cmpStatus = 'loaded');
    if (displayStatus == 'visible') fire('cmpDisplayStatus', displayStatus);
    setSignal('ready');

    return {
      string: () => gppString,
      // After a choice: the signal is not ready while the section changes.
      apply: choices => {
        setSignal('not ready');
        build(choices);
        fire('sectionChange', name);
        setSignal('ready');
        return gppString;
      },
      // The dialog opens. Opened by the visitor, it may be about to change
      // the signal; opened by the banner on a first visit, it is the notice,
      // and the signal stands.
      shown: byVisitor => {
        if (byVisitor) setSignal('not ready');
        setDisplay('visible');
      },
      // The dialog closes, with a choice that apply will bring, or without,
      // when the signal is what it was.
      hidden: chosen => {
        if (chosen) setSignal('not ready');
        setDisplay('hidden');
        if (!chosen) setSignal('ready');
      }
    };
  };

  win.StewardGPP = {init};
})();
