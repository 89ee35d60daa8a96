/*! Steward consent banner: IAB TCF v2.3 CMP API (tcf.js) */
// Loaded by banner.js only for properties that enable TCF. It defines
// window.StewardTCF = {init(C, hooks)}; init installs the __tcfapi function
// of the IAB "CMP JS API v2" (ping, addEventListener, removeEventListener,
// getVendorList, and the deprecated getTCData), answers calls that iframes
// post through the __tcfapiLocator frame, and returns the object banner.js
// drives (see init below). TC strings follow "Consent string and vendor list
// formats v2" as of TCF v2.3: core segment plus the now mandatory disclosed
// vendors segment. No dependencies, no build step.
(function () {
  'use strict';

  if (window.StewardTCF) {
    return;
  }

  var API_VERSION = '2.3'; // PingReturn.apiVersion
  var POLICY_VERSION = 5; // TCF v2.3; the vendor list's tcfPolicyVersion wins once loaded
  var MIN_POLICY_VERSION = 4; // older strings predate TCF v2.2 and are never current
  var NUM_PURPOSES = 24; // bits of PurposesConsent and PurposesLITransparency
  var NUM_SPECIAL_FEATURES = 12;
  var MAX_VENDOR_ID = 65535;
  var MAX_RANGES = 4095; // NumEntries is 12 bits
  var SEGMENT_DISCLOSED_VENDORS = 1;
  var SEGMENT_PUBLISHER_TC = 3;
  // Purposes that may not rest on legitimate interest (policy version 4 on).
  var NO_LEGITIMATE_INTEREST = [1, 3, 4, 5, 6];

  // ---------------------------------------------------------------------
  // Small helpers

  // ids returns the distinct integers of list within 1..max, ascending.
  function ids(list, max) {
    var seen = {};
    var out = [];
    (Array.isArray(list) ? list : []).forEach(function (v) {
      var n = Number(v);
      if (n % 1 === 0 && n >= 1 && n <= max && !seen[n]) {
        seen[n] = true;
        out.push(n);
      }
    });
    return out.sort(function (a, b) { return a - b; });
  }

  function has(list, id) {
    return list.indexOf(id) >= 0;
  }

  function union() {
    var all = [];
    for (var i = 0; i < arguments.length; i++) {
      all = all.concat(arguments[i] || []);
    }
    return ids(all, MAX_VENDOR_ID);
  }

  function sameIds(a, b) {
    return a.length === b.length && a.every(function (v, i) { return v === b[i]; });
  }

  // letters returns two uppercase letters (a language or country code), or
  // fallback.
  function letters(code, fallback) {
    var s = String(code || '').slice(0, 2).toUpperCase();
    return /^[A-Z]{2}$/.test(s) ? s : fallback;
  }

  function intIn(v, min, max, fallback) {
    var n = Number(v);
    return n % 1 === 0 && n >= min && n <= max ? n : fallback;
  }

  // boolMap turns an id set into {id: true|false} for each of keys.
  function boolMap(keys, set) {
    var m = {};
    keys.forEach(function (id) { m[id] = has(set, id); });
    return m;
  }

  // safe calls a caller's callback so that its exceptions stay its own.
  function safe(callback) {
    var args = Array.prototype.slice.call(arguments, 1);
    try {
      callback.apply(null, args);
    } catch (e) {
      setTimeout(function () { throw e; });
    }
  }

  // ---------------------------------------------------------------------
  // Bits and base64url. Fields are big-endian; a segment is padded with zero
  // bits to whole bytes, which are then base64url-encoded without padding.

  function BitWriter() {
    this.bits = [];
  }

  BitWriter.prototype.int = function (value, width) {
    for (var i = width - 1; i >= 0; i--) {
      this.bits.push(Math.floor(value / Math.pow(2, i)) % 2); // 36-bit values exceed bitwise ops
    }
  };

  BitWriter.prototype.bool = function (b) {
    this.bits.push(b ? 1 : 0);
  };

  // field writes width bits, bit i-1 set when id i is in set.
  BitWriter.prototype.field = function (set, width) {
    var on = {};
    set.forEach(function (id) { on[id] = true; });
    for (var id = 1; id <= width; id++) {
      this.bits.push(on[id] ? 1 : 0);
    }
  };

  BitWriter.prototype.letters = function (s) {
    this.int(s.charCodeAt(0) - 65, 6);
    this.int(s.charCodeAt(1) - 65, 6);
  };

  // ranges writes NumEntries and the range entries of sorted ids.
  BitWriter.prototype.ranges = function (rs) {
    var w = this;
    w.int(rs.length, 12);
    rs.forEach(function (r) {
      w.bool(r[1] > r[0]);
      w.int(r[0], 16);
      if (r[1] > r[0]) {
        w.int(r[1], 16);
      }
    });
  };

  // vendors writes MaxVendorId, IsRangeEncoding and then a bit field or a
  // range section, whichever is shorter (the bit field on a tie).
  BitWriter.prototype.vendors = function (set) {
    var maxId = set.length ? set[set.length - 1] : 0;
    var rs = toRanges(set);
    var rangeBits = 12;
    rs.forEach(function (r) { rangeBits += r[1] > r[0] ? 33 : 17; });
    this.int(maxId, 16);
    if (rs.length <= MAX_RANGES && rangeBits < maxId) {
      this.bool(true);
      this.ranges(rs);
    } else {
      this.bool(false);
      this.field(set, maxId);
    }
  };

  BitWriter.prototype.toString = function () {
    var bin = '';
    for (var i = 0; i < this.bits.length; i += 8) {
      var byte = 0;
      for (var j = 0; j < 8; j++) {
        byte = byte * 2 + (this.bits[i + j] || 0);
      }
      bin += String.fromCharCode(byte);
    }
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };

  // toRanges turns sorted ids into [start, end] runs of consecutive ids.
  function toRanges(set) {
    var rs = [];
    set.forEach(function (id) {
      var last = rs[rs.length - 1];
      if (last && last[1] + 1 === id) {
        last[1] = id;
      } else {
        rs.push([id, id]);
      }
    });
    return rs;
  }

  // BitReader reads one segment; reading past its end throws.
  function BitReader(segment) {
    if (!/^[A-Za-z0-9_-]+={0,2}$/.test(segment)) {
      throw new Error('not base64url');
    }
    this.data = atob(segment.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/'));
    this.pos = 0;
  }

  BitReader.prototype.int = function (width) {
    if (this.pos + width > this.data.length * 8) {
      throw new Error('truncated');
    }
    var v = 0;
    for (var i = 0; i < width; i++, this.pos++) {
      v = v * 2 + ((this.data.charCodeAt(this.pos >> 3) >> (7 - (this.pos & 7))) & 1);
    }
    return v;
  };

  BitReader.prototype.bool = function () {
    return this.int(1) === 1;
  };

  BitReader.prototype.field = function (width) {
    var out = [];
    for (var id = 1; id <= width; id++) {
      if (this.bool()) {
        out.push(id);
      }
    }
    return out;
  };

  BitReader.prototype.letters = function () {
    var a = this.int(6);
    var b = this.int(6);
    if (a > 25 || b > 25) {
      throw new Error('bad letter');
    }
    return String.fromCharCode(65 + a, 65 + b);
  };

  BitReader.prototype.ranges = function (bound) {
    var out = [];
    for (var n = this.int(12); n > 0; n--) {
      var isRange = this.bool();
      var start = this.int(16);
      var end = isRange ? this.int(16) : start;
      if (start < 1 || end < start || end > bound) {
        throw new Error('bad range');
      }
      for (var id = start; id <= end; id++) {
        out.push(id);
      }
    }
    return ids(out, MAX_VENDOR_ID);
  };

  BitReader.prototype.vendors = function () {
    var maxId = this.int(16);
    return this.bool() ? this.ranges(maxId) : this.field(maxId);
  };

  // ---------------------------------------------------------------------
  // TC strings. A TC model uses the field names of the Go codec
  // (internal/tcf); times are deciseconds since the epoch.

  function encodeTC(tc) {
    var core = new BitWriter();
    core.int(2, 6); // Version
    core.int(tc.created, 36);
    core.int(tc.lastUpdated, 36);
    core.int(tc.cmpId, 12);
    core.int(tc.cmpVersion, 12);
    core.int(tc.consentScreen, 6);
    core.letters(tc.consentLanguage);
    core.int(tc.vendorListVersion, 12);
    core.int(tc.policyVersion, 6);
    core.bool(true); // IsServiceSpecific
    core.bool(false); // UseNonStandardTexts
    core.field(tc.specialFeatureOptins, NUM_SPECIAL_FEATURES);
    core.field(tc.purposeConsents, NUM_PURPOSES);
    core.field(tc.purposeLegitimateInterests, NUM_PURPOSES);
    core.bool(false); // PurposeOneTreatment
    core.letters(tc.publisherCountryCode);
    core.vendors(tc.vendorConsents);
    core.vendors(tc.vendorLegitimateInterests);
    core.int(0, 12); // NumPubRestrictions
    var disclosed = new BitWriter();
    disclosed.int(SEGMENT_DISCLOSED_VENDORS, 3);
    disclosed.vendors(tc.disclosedVendors);
    return core + '.' + disclosed;
  }

  // decodeTC parses a TC string, or returns null when it is not a valid
  // version 2 string. disclosedVendors is null when the segment is absent.
  function decodeTC(str) {
    try {
      var parts = String(str || '').split('.');
      var r = new BitReader(parts[0]);
      if (r.int(6) !== 2) {
        return null;
      }
      var tc = {
        created: r.int(36),
        lastUpdated: r.int(36),
        cmpId: r.int(12),
        cmpVersion: r.int(12),
        consentScreen: r.int(6),
        consentLanguage: r.letters(),
        vendorListVersion: r.int(12),
        policyVersion: r.int(6),
        isServiceSpecific: r.bool(),
        useNonStandardTexts: r.bool(),
        specialFeatureOptins: r.field(NUM_SPECIAL_FEATURES),
        purposeConsents: r.field(NUM_PURPOSES),
        purposeLegitimateInterests: r.field(NUM_PURPOSES),
        purposeOneTreatment: r.bool(),
        publisherCountryCode: r.letters(),
        vendorConsents: r.vendors(),
        vendorLegitimateInterests: r.vendors(),
        publisherRestrictions: [],
        disclosedVendors: null,
        publisherConsents: [],
        publisherLegitimateInterests: [],
        customPurposeConsents: [],
        customPurposeLegitimateInterests: []
      };
      for (var n = r.int(12); n > 0; n--) {
        tc.publisherRestrictions.push({purposeId: r.int(6), restrictionType: r.int(2), vendors: r.ranges(MAX_VENDOR_ID)});
      }
      parts.slice(1).forEach(function (part) {
        var s = new BitReader(part);
        var type = s.int(3);
        if (type === SEGMENT_DISCLOSED_VENDORS) {
          tc.disclosedVendors = s.vendors();
        } else if (type === SEGMENT_PUBLISHER_TC) {
          tc.publisherConsents = s.field(NUM_PURPOSES);
          tc.publisherLegitimateInterests = s.field(NUM_PURPOSES);
          var custom = s.int(6);
          tc.customPurposeConsents = s.field(custom);
          tc.customPurposeLegitimateInterests = s.field(custom);
        } else {
          throw new Error('unexpected segment type ' + type);
        }
      });
      return tc;
    } catch (e) {
      return null;
    }
  }

  // ---------------------------------------------------------------------
  // The CMP

  var instance = null;

  // init installs the CMP API for the banner configuration C (CONTRACT.md)
  // and returns the object banner.js drives:
  //
  //   encode(choices)        -> Promise<string>  TC string for the choices
  //   apply(choices, tc?)    -> Promise<string>  the visitor confirmed choices: keeps the
  //                                              string (encoding choices when tc is absent),
  //                                              fires 'useractioncomplete'
  //   uiShown(choices?)      -> Promise<string>  the banner is visible: fires 'cmpuishown'
  //   uiHidden()                                 the banner closed without a choice
  //   loaded(choices?)       -> Promise<string>  page load with a current choice, no banner:
  //                                              fires 'tcloaded' with the stored string, or
  //                                              with one encoded from choices
  //   tcString()             -> string           the current TC string ('' before any)
  //
  // choices: {purposes: {stewardKey: bool}, tcfPurposes: {id: bool},
  // vendors: {id: bool}, specialFeatures: {id: bool},
  // purposeLegitimateInterests: {id: false}, vendorLegitimateInterests: {id: false}
  // (false records an objection), screen: consent screen number, lang}.
  // hooks.getChoices() returns the visitor's last confirmed choices or null
  // (uiShown and loaded use it when given no choices). banner.js tells this
  // script about the banner by calling uiShown/uiHidden, so there is no
  // onUiShown hook. init returns null when C.tcf is null (TCF not enabled),
  // and the same object when called again.
  function init(C, hooks) {
    if (instance) {
      return instance;
    }
    if (!C || !C.tcf) {
      return null;
    }
    hooks = hooks || {};
    var T = C.tcf;
    // The server says whether the GDPR applies to the visitor's jurisdiction;
    // older configurations fall back to the opt-in regime.
    var gdprApplies = typeof T.gdprApplies === 'boolean' ? T.gdprApplies : C.regime === 'opt_in';
    var cmpId = intIn(T.cmpId, 0, 4095, 0);
    var cmpVersion = intIn(T.cmpVersion, 0, 4095, 0);
    var publisherCC = letters(T.publisherCC, 'AA');
    var vendorIds = ids(T.vendorIds, MAX_VENDOR_ID);
    var purposeIds = ids(T.purposeIds, NUM_PURPOSES);
    var specialFeatureIds = ids(T.specialFeatureIds, NUM_SPECIAL_FEATURES);
    var optional = (C.purposes || []).filter(function (p) { return p && !p.necessary; });
    var optionalKeys = optional.map(function (p) { return p.key; });
    // purposeMap {stewardKey: [tcfPurposeId]} (optional): which TCF purposes
    // each non-necessary Steward purpose grants.
    var purposeMap = {};
    Object.keys(T.purposeMap || {}).forEach(function (key) {
      if (has(optionalKeys, key)) {
        purposeMap[key] = ids(T.purposeMap[key], NUM_PURPOSES);
      }
    });
    var storageKey = 'stw_tcf:' + (C.property || '');

    var state = {
      tcString: '',
      tc: null, // decoded tcString
      eventStatus: undefined,
      displayStatus: gdprApplies ? 'hidden' : 'disabled',
      listeners: {},
      nextListenerId: 1,
      seq: 0 // bumped by every event, so that a late async result cannot overtake a newer one
    };

    function getChoices() {
      return typeof hooks.getChoices === 'function' ? hooks.getChoices() : null;
    }

    // --- Global Vendor List: fetched from Steward, once, when first needed.

    var gvl = null;
    var gvlText = '';
    var gvlPromise = null;

    function loadGVL() {
      if (gvlPromise) {
        return gvlPromise;
      }
      var path = T.gvlUrl;
      if (typeof path !== 'string' || !/^\/[^/\\]/.test(path)) {
        return Promise.reject(new Error('StewardTCF: gvlUrl must be a path on the Steward server'));
      }
      var url = String(C.api || '').replace(/\/+$/, '') + path;
      gvlPromise = fetch(url, {credentials: 'omit'}).then(function (res) {
        if (!res.ok) {
          throw new Error('StewardTCF: vendor list: HTTP ' + res.status);
        }
        return res.text();
      }).then(function (text) {
        var list = JSON.parse(text);
        if (!list || !intIn(list.vendorListVersion, 1, 4095, 0) || !intIn(list.tcfPolicyVersion, MIN_POLICY_VERSION, 63, 0) ||
            !list.vendors || typeof list.vendors !== 'object') {
          throw new Error('StewardTCF: not a TCF v2.3 vendor list');
        }
        gvl = list;
        gvlText = text;
        return list;
      });
      gvlPromise.catch(function () { gvlPromise = null; }); // try again next time
      return gvlPromise;
    }

    // --- From choices to signals

    function acceptsAll(choices) {
      var granted = choices.purposes || {};
      return optional.length > 0 && optional.every(function (p) { return granted[p.key] === true; });
    }

    // purposeConsents: an explicit tcfPurposes choice wins; otherwise a
    // purpose named in purposeMap is granted when any Steward purpose mapping
    // to it is; any other listed purpose only on "accept all".
    function purposeConsents(choices) {
      var all = acceptsAll(choices);
      var explicit = choices.tcfPurposes || {};
      var granted = choices.purposes || {};
      return purposeIds.filter(function (id) {
        if (typeof explicit[id] === 'boolean') {
          return explicit[id];
        }
        var mapped = false;
        var any = false;
        Object.keys(purposeMap).forEach(function (key) {
          if (has(purposeMap[key], id)) {
            mapped = true;
            any = any || granted[key] === true;
          }
        });
        return mapped ? any : all;
      });
    }

    function specialFeatureOptins(choices) {
      var all = acceptsAll(choices);
      var explicit = choices.specialFeatures || {};
      return specialFeatureIds.filter(function (id) {
        return typeof explicit[id] === 'boolean' ? explicit[id] : all;
      });
    }

    function liveVendor(id) {
      var v = gvl.vendors[id];
      return v && !(v.deletedDate && Date.parse(v.deletedDate) <= Date.now()) ? v : null;
    }

    function list(v, field) {
      return Array.isArray(v[field]) ? v[field] : [];
    }

    // model builds the TC model for choices; gvl is loaded.
    function model(choices) {
      choices = choices || {};
      var vendorChoice = choices.vendors || {};
      var purposeObjections = choices.purposeLegitimateInterests || {};
      var vendorObjections = choices.vendorLegitimateInterests || {};
      var purposes = purposeConsents(choices);
      // Legitimate interest is established for a listed purpose that some
      // disclosed vendor declares on that basis, unless the visitor objected.
      var liPurposes = purposeIds.filter(function (p) {
        return !has(NO_LEGITIMATE_INTEREST, p) && purposeObjections[p] !== false && vendorIds.some(function (id) {
          var v = liveVendor(id);
          return v && has(list(v, 'legIntPurposes'), p);
        });
      });
      var vendorConsents = [];
      var vendorLIs = [];
      vendorIds.forEach(function (id) {
        var v = liveVendor(id);
        if (!v) {
          return;
        }
        var own = list(v, 'purposes');
        var li = list(v, 'legIntPurposes');
        // Consent when every purpose the vendor asks consent for is granted.
        if (vendorChoice[id] !== false && own.length > 0 && own.every(function (p) { return has(purposes, p); })) {
          vendorConsents.push(id);
        }
        // Legitimate interest when transparency is established for one of its
        // purposes, or when it declares special purposes only, unless the
        // visitor objected to the vendor.
        var specialOnly = !own.length && !li.length && list(v, 'specialPurposes').length > 0;
        if (vendorObjections[id] !== false && (specialOnly || li.some(function (p) { return has(liPurposes, p); }))) {
          vendorLIs.push(id);
        }
      });
      var now = Math.round(Date.now() / 100);
      var previous = state.tc || decodeTC(readStored());
      return {
        created: previous && previous.cmpId === cmpId ? previous.created : now,
        lastUpdated: now,
        cmpId: cmpId,
        cmpVersion: cmpVersion,
        consentScreen: intIn(choices.screen, 0, 63, 1),
        consentLanguage: letters(choices.lang || T.consentLanguage, 'EN'),
        vendorListVersion: gvl.vendorListVersion,
        policyVersion: gvl.tcfPolicyVersion,
        specialFeatureOptins: specialFeatureOptins(choices),
        purposeConsents: purposes,
        purposeLegitimateInterests: liPurposes,
        publisherCountryCode: publisherCC,
        vendorConsents: vendorConsents,
        vendorLegitimateInterests: vendorLIs,
        disclosedVendors: vendorIds
      };
    }

    function encode(choices) {
      return loadGVL().then(function () { return encodeTC(model(choices)); });
    }

    // --- Storage of the last confirmed TC string (this origin only)

    function readStored() {
      try {
        return window.localStorage.getItem(storageKey) || '';
      } catch (e) {
        return '';
      }
    }

    function store(s) {
      try {
        window.localStorage.setItem(storageKey, s);
      } catch (e) {
        // storage blocked: the string lives for this page view
      }
    }

    // current reports whether a stored TC string may be surfaced without
    // showing the banner: ours, TCF v2.2 or later, disclosing every vendor
    // the property lists, not older than the choice itself may be, and
    // (when choices are given) recording the same purposes and special
    // features those choices give.
    function current(tc, choices) {
      if (!tc || tc.cmpId !== cmpId || tc.policyVersion < MIN_POLICY_VERSION || !tc.disclosedVendors) {
        return false;
      }
      if (!vendorIds.every(function (id) { return has(tc.disclosedVendors, id); })) {
        return false;
      }
      var age = Date.now() - tc.lastUpdated * 100;
      if (age < -864e5 || age > intIn(C.maxAgeDays, 1, 3650, 390) * 864e5) {
        return false;
      }
      return !choices || (sameIds(tc.purposeConsents, purposeConsents(choices)) &&
        sameIds(tc.specialFeatureOptins, specialFeatureOptins(choices)));
    }

    // --- Events

    function setString(s, tc) {
      state.tcString = s;
      state.tc = tc || decodeTC(s);
    }

    function notify(eventStatus) {
      state.eventStatus = eventStatus;
      Object.keys(state.listeners).forEach(function (id) {
        var callback = state.listeners[id];
        if (callback) {
          safe(callback, tcData(Number(id)), true);
        }
      });
    }

    // --- API responses

    function policyVersion() {
      if (gvl) {
        return gvl.tcfPolicyVersion;
      }
      return state.tc ? state.tc.policyVersion : POLICY_VERSION;
    }

    function ping() {
      return {
        gdprApplies: gdprApplies,
        cmpLoaded: true,
        cmpStatus: 'loaded',
        displayStatus: gdprApplies ? state.displayStatus : 'disabled',
        apiVersion: API_VERSION,
        cmpVersion: cmpVersion,
        cmpId: cmpId,
        gvlVersion: gvl ? gvl.vendorListVersion : state.tc ? state.tc.vendorListVersion : undefined,
        tcfPolicyVersion: policyVersion()
      };
    }

    // tcData builds the TCData object; vendorFilter (getTCData) limits the
    // vendor maps to those ids.
    function tcData(listenerId, vendorFilter) {
      var data;
      if (!gdprApplies) {
        data = {gdprApplies: false, tcfPolicyVersion: policyVersion(), cmpId: cmpId, cmpVersion: cmpVersion};
        if (listenerId) {
          data.listenerId = listenerId;
        }
        return data;
      }
      var tc = state.tc || {
        isServiceSpecific: true, useNonStandardTexts: false, purposeOneTreatment: false, publisherCountryCode: publisherCC,
        purposeConsents: [], purposeLegitimateInterests: [], vendorConsents: [], vendorLegitimateInterests: [],
        disclosedVendors: [], specialFeatureOptins: [], publisherConsents: [], publisherLegitimateInterests: [],
        customPurposeConsents: [], customPurposeLegitimateInterests: [], publisherRestrictions: []
      };
      var vendorKeys = vendorFilter ||
        union(vendorIds, tc.disclosedVendors, tc.vendorConsents, tc.vendorLegitimateInterests);
      var purposeKeys = union(purposeIds, tc.purposeConsents, tc.purposeLegitimateInterests);
      var restrictions = {};
      tc.publisherRestrictions.forEach(function (pr) {
        var byVendor = restrictions[pr.purposeId] = restrictions[pr.purposeId] || {};
        pr.vendors.forEach(function (id) { byVendor[id] = pr.restrictionType; });
      });
      data = {
        tcString: state.tcString,
        tcfPolicyVersion: policyVersion(),
        cmpId: cmpId,
        cmpVersion: cmpVersion,
        gdprApplies: true,
        eventStatus: state.eventStatus,
        cmpStatus: 'loaded',
        listenerId: listenerId || undefined,
        isServiceSpecific: tc.isServiceSpecific,
        useNonStandardTexts: tc.useNonStandardTexts,
        publisherCC: tc.publisherCountryCode,
        purposeOneTreatment: tc.purposeOneTreatment,
        purpose: {
          consents: boolMap(purposeKeys, tc.purposeConsents),
          legitimateInterests: boolMap(purposeKeys, tc.purposeLegitimateInterests)
        },
        vendor: {
          consents: boolMap(vendorKeys, tc.vendorConsents),
          legitimateInterests: boolMap(vendorKeys, tc.vendorLegitimateInterests),
          disclosedVendors: boolMap(vendorKeys, tc.disclosedVendors || [])
        },
        specialFeatureOptins: boolMap(union(specialFeatureIds, tc.specialFeatureOptins), tc.specialFeatureOptins),
        publisher: {
          consents: boolMap(tc.publisherConsents, tc.publisherConsents),
          legitimateInterests: boolMap(tc.publisherLegitimateInterests, tc.publisherLegitimateInterests),
          customPurpose: {
            consents: boolMap(tc.customPurposeConsents, tc.customPurposeConsents),
            legitimateInterests: boolMap(tc.customPurposeLegitimateInterests, tc.customPurposeLegitimateInterests)
          },
          restrictions: restrictions
        }
      };
      return data;
    }

    // getVendorList answers with the list Steward serves: for no version,
    // 'LATEST' or that list's own version; other versions are not kept.
    function getVendorList(callback, version) {
      var latest = version === undefined || version === null || version === 'LATEST';
      var wanted = latest ? 0 : intIn(version, 2, 4095, -1);
      if (wanted < 0) {
        safe(callback, null, false);
        return;
      }
      loadGVL().then(function (list) {
        if (!latest && wanted !== list.vendorListVersion) {
          safe(callback, null, false);
        } else {
          safe(callback, JSON.parse(gvlText), true); // a copy: callers may change it
        }
      }, function () {
        safe(callback, null, false);
      });
    }

    // --- __tcfapi

    // Calls that the page's stub proxied from a postMessage event are
    // marked, so that our own message handler does not answer them twice.
    var proxied = typeof WeakSet === 'function' ? new WeakSet() : null;
    var inOwnHandler = false;

    function tcfapi(command, version, callback, parameter) {
      var event = window.event;
      if (proxied && !inOwnHandler && event && event.type === 'message') {
        proxied.add(event);
      }
      if (typeof callback !== 'function') {
        return;
      }
      if (command === 'ping') {
        safe(callback, ping(), true);
        return;
      }
      var versionOK = version === undefined || version === null || version === 0 || version === 2;
      if (command === 'removeEventListener') {
        var ok = versionOK && !!state.listeners[parameter];
        if (ok) {
          delete state.listeners[parameter];
        }
        safe(callback, ok, ok);
        return;
      }
      if (!versionOK) {
        safe(callback, null, false);
        return;
      }
      switch (command) {
      case 'addEventListener':
        var id = state.nextListenerId++;
        state.listeners[id] = callback;
        safe(callback, tcData(id), true);
        return;
      case 'getTCData': // deprecated since TCF v2.2, kept for old callers
        if (parameter !== undefined && parameter !== null && !(Array.isArray(parameter) &&
            parameter.every(function (v) { return v % 1 === 0 && v > 0; }))) {
          safe(callback, null, false);
          return;
        }
        safe(callback, tcData(0, parameter ? ids(parameter, MAX_VENDOR_ID) : null), true);
        return;
      case 'getVendorList':
        getVendorList(callback, parameter);
        return;
      default:
        safe(callback, null, false);
      }
    }

    // onMessage answers {__tcfapiCall: {command, version, parameter, callId}}
    // posted by iframes (as an object or as JSON) with __tcfapiReturn.
    function onMessage(event) {
      if (proxied && proxied.has(event)) {
        return;
      }
      var data = event.data;
      var json = typeof data === 'string';
      if (json) {
        if (data.indexOf('__tcfapiCall') < 0) {
          return;
        }
        try {
          data = JSON.parse(data);
        } catch (e) {
          return;
        }
      }
      var call = data && data.__tcfapiCall;
      var source = event.source;
      if (!call || typeof call !== 'object' || !source) {
        return;
      }
      inOwnHandler = true;
      try {
        tcfapi(call.command, call.version, function (returnValue, success) {
          var reply = {__tcfapiReturn: {returnValue: returnValue, success: success, callId: call.callId}};
          try {
            source.postMessage(json ? JSON.stringify(reply) : reply, '*');
          } catch (e) {
            // the frame went away
          }
        }, call.parameter);
      } finally {
        inOwnHandler = false;
      }
    }

    // addLocator adds the __tcfapiLocator frame that tells iframes a CMP is
    // here, unless the stub did.
    function addLocator() {
      if (window.frames.__tcfapiLocator) {
        return;
      }
      if (!document.body) {
        document.addEventListener('DOMContentLoaded', addLocator);
        return;
      }
      var frame = document.createElement('iframe');
      frame.name = '__tcfapiLocator';
      frame.style.display = 'none';
      frame.setAttribute('aria-hidden', 'true');
      frame.tabIndex = -1;
      document.body.appendChild(frame);
    }

    // Replace the stub: the standard stub returns its queue of calls when
    // called without arguments.
    var queue = [];
    var stub = window.__tcfapi;
    if (typeof stub === 'function') {
      try {
        var pending = stub();
        queue = Array.isArray(pending) ? pending.slice() : [];
      } catch (e) {
        queue = [];
      }
    }
    window.__tcfapi = tcfapi;
    window.addEventListener('message', onMessage, false);
    addLocator();

    instance = {
      encode: encode,

      apply: function (choices, s) {
        state.seq++;
        var done = function (str) {
          var tc = decodeTC(str);
          if (!tc) {
            throw new Error('StewardTCF: not a TC string');
          }
          store(str);
          setString(str, tc);
          state.displayStatus = 'hidden';
          notify('useractioncomplete');
          return str;
        };
        if (s) {
          try {
            return Promise.resolve(done(s));
          } catch (e) {
            return Promise.reject(e);
          }
        }
        return encode(choices).then(done);
      },

      uiShown: function (choices) {
        var seq = ++state.seq;
        state.displayStatus = 'visible';
        return encode(choices || getChoices() || {}).then(function (s) {
          if (seq === state.seq) {
            setString(s);
            notify('cmpuishown');
          }
          return s;
        });
      },

      uiHidden: function () {
        state.displayStatus = 'hidden';
      },

      loaded: function (choices) {
        var seq = ++state.seq;
        choices = choices || getChoices();
        var done = function (s, tc) {
          if (seq === state.seq) {
            setString(s, tc);
            state.displayStatus = 'disabled';
            notify('tcloaded');
          }
          return s;
        };
        var stored = readStored();
        var tc = decodeTC(stored);
        if (current(tc, choices)) {
          return Promise.resolve(done(stored, tc));
        }
        if (!choices) {
          return Promise.reject(new Error('StewardTCF: no current TC string and no choices'));
        }
        return encode(choices).then(function (s) {
          store(s);
          return done(s);
        });
      },

      tcString: function () {
        return state.tcString;
      }
    };

    queue.forEach(function (args) {
      tcfapi.apply(null, Array.prototype.slice.call(args));
    });
    return instance;
  }

  window.StewardTCF = {init: init};
})();
