// Read banner.md first.
var w=window,d=document,nv=navigator,lc=location
if(w.Steward)return
var P=C.purposes||[],O=P.filter(p=>!p.necessary),SA=O.filter(p=>p.saleOrSharing),OUT=C.regime=='opt_out',
 NM=C.cookie.name||'stw_consent',AGE=(C.maxAgeDays||365)*86400,NT=C.notice,TH=C.theme||{},TX=C.texts||{},
 GPC=!!(nv.globalPrivacyControl||C.serverGpc),DNT=nv.doNotTrack=='1',SIG=GPC||C.honourDnt&&DNT
var S={
 en:{title:'Privacy choices',intro:'We and our partners use cookies for: {p}.',later:'You can change this at any time.',
  notice:'Privacy notice',accept:'Accept all',reject:'Reject all',custom:'Customize',save:'Save choices',back:'Back',ok:'OK',
  dns:'Do not sell or share my personal information',gpc:'Your Global Privacy Control signal was honoured.',vendors:'Vendors',
  receipts:'Download my consent receipts',load:'Load content from {h}: allow {p}'},
 de:{title:'Datenschutz-Einstellungen',intro:'Wir und unsere Partner nutzen Cookies für: {p}.',later:'Sie können das jederzeit ändern.',
  notice:'Datenschutzerklärung',accept:'Alle akzeptieren',reject:'Alle ablehnen',custom:'Anpassen',save:'Auswahl speichern',back:'Zurück',
  dns:'Meine personenbezogenen Daten nicht verkaufen oder weitergeben',gpc:'Ihr Global-Privacy-Control-Signal wurde berücksichtigt.',vendors:'Anbieter',
  receipts:'Einwilligungsnachweise herunterladen',load:'Inhalte von {h} laden: {p} erlauben'},
 fr:{title:'Vos choix de confidentialité',intro:'Nos partenaires et nous utilisons des cookies pour : {p}.',later:'Vous pouvez changer d’avis à tout moment.',
  notice:'Politique de confidentialité',accept:'Tout accepter',reject:'Tout refuser',custom:'Personnaliser',save:'Enregistrer mes choix',back:'Retour',
  dns:'Ne pas vendre ni partager mes données personnelles',gpc:'Votre signal Global Privacy Control a été respecté.',vendors:'Partenaires',
  receipts:'Télécharger mes preuves de consentement',load:'Charger le contenu de {h} : autoriser {p}'},
 es:{title:'Opciones de privacidad',intro:'Nosotros y nuestros socios usamos cookies para: {p}.',later:'Puedes cambiarlo cuando quieras.',
  notice:'Política de privacidad',accept:'Aceptar todo',reject:'Rechazar todo',custom:'Personalizar',save:'Guardar selección',back:'Volver',
  dns:'No vender ni compartir mi información personal',gpc:'Se ha respetado tu señal Global Privacy Control.',vendors:'Proveedores',
  receipts:'Descargar comprobantes de consentimiento',load:'Cargar contenido de {h}: permitir {p}'}}
var L=(()=>{
 var ok=(C.languages||[]).filter(l=>S[l]||TX[l]),has=l=>ok.find(x=>x.toLowerCase()==l)
 for(var l of[C.lang||'',...nv.languages])if(l=has(l=l.toLowerCase())||has(l.split('-')[0]))return l
 return ok[0]||'en'
})()
var DIR=/^(ar|he|fa|ur)\b/i.test(L)?'rtl':'ltr',T={...S.en,...S[L],...TX[L]},
 tx=m=>m?m[L]||m.en||Object.values(m)[0]:'',
 h=s=>String(s||'').replace(/[&<>"]/g,c=>'&#'+c.charCodeAt(0)+';'),
 uuid=()=>crypto.randomUUID?.()||URL.createObjectURL(new Blob).slice(-36),
 ld=k=>{try{return JSON.parse(localStorage[NM+k])}catch(e){}},
 kp=(k,v)=>{try{localStorage[NM+k]=JSON.stringify(v)}catch(e){}}
var ck=(()=>{try{
 var f=d.cookie.match('(?:^|; )'+NM+'=([^;]*)')[1].split('|'),p={}
 f[4].split('/').map(x=>p[(x=x.split(':'))[0]]=x[1]==1)
 return{v:decodeURIComponent(f[0]),t:parseInt(f[1],36)*1e3,d:f[2],o:f[3]=='o',p}
}catch(e){}})()
var dc=!!ck&&!(ck.v!=NT.version&&NT.material)&&Date.now()-ck.t<AGE*1e3&&!(ck.o&&!OUT)&&(OUT||O.every(p=>p.key in ck.p)),
 dev=dc&&ck.d,at=dc&&ck.t,st={},
 device=()=>dev||=ld('.d')||uuid(),
 fix=x=>(P.map(p=>p.necessary?x[p.key]=true:SIG&&p.saleOrSharing&&(x[p.key]=false)),x),
 cs=()=>({...st,decidedAt:dc?at:null,gpcHonoured:SIG,deviceId:dev||null}),
 ch=()=>({purposes:{...st},lang:L})
P.map(p=>st[p.key]=dc&&p.key in ck.p?ck.p[p.key]:OUT)
fix(st)

var GCM=C.gcm&&C.gcm.enabled,gcm=(kind,x)=>{
 var o={}
 'ad_storage analytics_storage ad_user_data ad_personalization functionality_storage personalization_storage security_storage'.split(' ').map(t=>o[t]='denied')
 P.map(p=>x[p.key]&&(p.gcm||[]).map(t=>o[t]='granted'))
 if(kind=='default')o.wait_for_update=C.gcm.waitForUpdate
 w.gtag('consent',kind,o)
}
if(GCM){
 w.dataLayer||=[]
 w.gtag||=function(){w.dataLayer.push(arguments)}
 gcm('default',fix({}))
}

var tcf,tcfReady=new Promise(done=>{
 var init=()=>{
  try{tcf=w.StewardTCF.init(C,{getChoices:()=>dc?ch():null});dc&&tcf.loaded(ch()).catch(done)}catch(e){}
  done()
 }
 if(!C.tcf)return done()
 if(w.StewardTCF)return init()
 var s=d.head.appendChild(d.createElement('script'))
 s.onload=init
 s.onerror=done
 s.src=new URL(C.tcf.script,C.api)
}),tcfCall=(fn,arg)=>tcfReady.then(()=>tcf&&tcf[fn](arg)).catch(()=>{})

var API=C.api+'/v1/consent/events?key='+encodeURIComponent(C.key),sending,
 record=(acts,source,tc)=>{
  kp('.d',device())
  var evs=acts.map(([purpose,action])=>({id:uuid(),property:C.property,device:dev,purpose,action,source,notice_version:NT.version,jurisdiction:C.jurisdiction,gpc:GPC,dnt:DNT}))
  return Promise.race([tc,new Promise(r=>setTimeout(r,1500))]).then(s=>{
   evs.map(e=>s&&(e.tc_string=s))
   kp('.q',(ld('.q')||[]).concat(evs))
   flush()
  })
 },
 flush=()=>{
  var q=(ld('.q')||[]).slice(0,100),body=JSON.stringify({events:q}),ids=q.map(e=>e.id),gone=x=>!ids.includes(x.id)
  if(!q[0]||sending)return
  if(!w.fetch||d.visibilityState=='hidden')return nv.sendBeacon(API,body)
  sending=1
  fetch(API,{method:'POST',body,keepalive:true}).then(r=>r.status<500?r.json().catch(()=>({})):Promise.reject()).then(j=>{
   kp('.q',(ld('.q')||[]).filter(gone))
   kp('.r',(ld('.r')||[]).filter(gone).concat((j.results||[]).filter(x=>x.receipt)).slice(-200))
   sending=0
   flush()
  },()=>sending=0)
 }

var SEL='script[type="text/plain"][data-steward-purpose],iframe[data-steward-purpose][data-src]',running,again,
 lacks=el=>el.dataset.stewardPurpose.trim().split(/[\s,]+/).filter(k=>!st[k]),
 activate=()=>{
  if(running)return again=1
  running=1
  var els=d.querySelectorAll(SEL),i=0,next=()=>{
   while(i<els.length){
    var el=els[i++],s
    if(!el.isConnected);
    else if(el.tagName=='IFRAME')setTimeout(frame,0,el)
    else if(!lacks(el).length){
     s=d.createElement('script')
     for(var a of el.attributes)a.name!='type'&&s.setAttribute(a.name,a.value)
     s.nonce=el.nonce
     s.text=el.text
     el.replaceWith(s)
     if(s.src)return s.onload=s.onerror=next
    }
   }
   running=0
   if(again)again=0,activate()
  }
  next()
 },
 frame=f=>{
  var lack=lacks(f),doc=f.contentDocument
  if(!f.dataset.src);
  else if(!lack.length)f.src=f.dataset.src,f.removeAttribute('data-src')
  else if(doc&&!doc.querySelector('button')){
   var label=T.load.replace('{h}',new URL(f.dataset.src,lc).hostname).replace('{p}',lack.map(k=>tx(P.find(p=>p.key==k)?.name)||k).join(', '))
   f.title||=label
   doc.documentElement.lang=L
   doc.dir=DIR
   doc.body.innerHTML=`<style>body{height:90vh;display:grid;place-items:center;font:15px system-ui}</style><button type=button>${h(label)}</button>`
   doc.querySelector('button').onclick=()=>choose(Object.assign({...st},...lack.map(k=>({[k]:true}))))
  }
 },
 wipe=()=>{
  var n=lc.hostname.split('.'),doms=[''],all=d.cookie.split('; ')
  n.map((_,i)=>doms.push(n.slice(i).join('.')))
  P.map(p=>{
   var re=RegExp('^('+(p.cookies||[]).map(c=>c.replace(/[^\w*-]/g,'\\$&').replace(/\*/g,'.*')).join('|')+')$')
   st[p.key]||!p.cookies?.[0]||all.map(c=>{
    c=c.split('=')[0]
    if(re.test(c))doms.map(m=>d.cookie=c+'=;path=/;max-age=0'+(m&&';domain='+m))
   })
  })
 },
 sync=()=>{if(GCM)gcm('update',st);wipe();activate()}

var subs=[],resolve,ready=new Promise(r=>resolve=r),
 save=()=>{
  at=Date.now()
  d.cookie=NM+'='+[encodeURIComponent(NT.version),(at/1e3|0).toString(36),device(),OUT?'o':'i',O.map(p=>p.key+':'+(st[p.key]?1:0)).join('/')].join('|')+
   ';path=/;max-age='+AGE+';samesite='+(C.cookie.sameSite||'Lax')+(C.cookie.domain?';domain='+C.cookie.domain:'')+(lc.protocol=='https:'?';secure':'')
 },
 choose=x=>{
  var acts=O.map(p=>[p.key,fix(x)[p.key]?'grant':dc&&st[p.key]?'withdraw':'deny']),c
  st=x
  dc=true
  save()
  sync()
  close(1)
  c=cs()
  if(acts[0])record(acts,'banner',tcfCall('apply',ch()))
  resolve(c)
  subs.map(f=>f(c))
 },
 dismiss=()=>{if(!dc)save();close()}

var CSS=`$ {all:initial;position:fixed;z-index:2147483646;font:15px/1.5 system-ui,sans-serif;color:var(--t)}
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
@media (prefers-reduced-motion:no-preference){$ .stw-d{animation:stw .2s}}@keyframes stw{from{opacity:0}}`.replace(/\$/g,'#steward-banner')
var R,D,RE,ly,back,whenBody=f=>d.body?f():d.addEventListener('DOMContentLoaded',f),
 ui=()=>{
  if(R)return
  try{var sh=new CSSStyleSheet();sh.replaceSync(CSS);d.adoptedStyleSheets=[...d.adoptedStyleSheets,sh]}
  catch(e){d.head.appendChild(d.createElement('style')).textContent=CSS}
  R=d.body.appendChild(d.createElement('div'))
  R.id='steward-banner'
  R.lang=L
  R.dir=DIR
  R.style.cssText=`--b:${TH.background||'#fff'};--t:${TH.text||'#1f2328'};--a:${TH.accent||'#0b57d0'};--at:${TH.accentText||'#fff'};--r:${TH.radius||8}px;--pos:${{top:'start',center:'center'}[TH.position]||'end'}`
  R.innerHTML=`<div class=stw-o hidden><div class=stw-d role=dialog aria-modal=true aria-labelledby=stw-t aria-describedby="stw-x${SIG?' stw-g':''}" tabindex=-1 lang=${L} dir=${DIR}></div></div>`+
   `<button type=button class=stw-re data-a=open hidden>${h(T.title)}</button>`
  D=R.firstChild.firstChild
  RE=R.lastChild
  R.onclick=e=>{
   var a=e.target.closest('[data-a]')?.dataset.a,x={...st},l
   if(a=='accept'||a=='reject')P.map(p=>x[p.key]=a=='accept'),choose(x)
   if(a=='dns')SA.map(p=>x[p.key]=false),choose(x)
   if(a=='save')D.querySelectorAll('input').forEach(i=>x[i.dataset.k]=i.checked),choose(x)
   if(a=='custom')show(2)
   if(a=='back')show(1,'custom')
   if(a=='ok')dismiss()
   if(a=='open')show(1)
   if(a=='rcpt'){
    l=d.createElement('a')
    l.href=URL.createObjectURL(new Blob([JSON.stringify({property:C.property,device:dev,receipts:ld('.r')})],{type:'application/json'}))
    l.download='consent-receipts.json'
    l.click()
   }
  }
 },
 bts=acts=>'<div class=stw-b>'+acts.filter(Boolean).map(a=>`<button type=button data-a=${a}>${h(T[a])}</button>`).join('')+'</div>',
 intro=t=>`<div class=stw-h><h2 id=stw-t>${h(T.title)}</h2>${ly>1?`<button type=button class=stw-x data-a=back>${h(T.back)}</button>`:''}</div><p id=stw-x>${t} ${h(T.later)} <a href="${h(NT.url)}">${h(T.notice)}</a></p>`+(SIG?`<p id=stw-g><b>${h(T.gpc)}</b></p>`:''),
 first=()=>intro(h(T.intro.replace('{p}',O.map(p=>tx(p.name)).join(', '))))+
  bts(OUT?[SA[0]&&'dns','custom','ok']:['accept','reject','custom']),
 second=()=>intro('')+
  '<ul>'+P.map(p=>{
   var k='stw-p-'+p.key,v=p.vendors||[]
   return`<li><div class=stw-q><label for=${k} dir=auto>${h(tx(p.name))}</label><input type=checkbox id=${k} data-k=${p.key} aria-describedby=${k}-d`+
    `${st[p.key]?' checked':''}${p.necessary||SIG&&p.saleOrSharing?' disabled':''}></div><p id=${k}-d dir=auto>${h(tx(p.description))}</p>`+
    (v[0]?`<details><summary>${h(T.vendors)} (${v.length})</summary>`+v.map(x=>
     `${x.privacyUrl?`<a href="${h(x.privacyUrl)}" target=_blank>${h(x.name)}</a>`:h(x.name)} ${h(x.country)}`).join(', ')+'</details>':'')+'</li>'
  }).join('')+'</ul>'+bts(['accept','reject','save'])+
  (ld('.r')?.[0]?`<button type=button class=stw-k data-a=rcpt>${h(T.receipts)}</button>`:''),
 show=(n,then,soon)=>{
  ui()
  if(!ly)back=d.activeElement,tcfCall('uiShown',ch())
  ly=n
  D.innerHTML=n>1?second():first()
  RE.hidden=true
  D.parentNode.hidden=false
  var f=()=>(then&&D.querySelector(`[data-a=${then}]`)||D).focus()
  soon?requestAnimationFrame(()=>setTimeout(f)):f()
 },
 close=chosen=>{
  if(!ly)return
  ly=0
  D.parentNode.hidden=true
  RE.hidden=!OUT
  chosen||tcfCall('uiHidden')
  ;(back?.isConnected&&back!=d.body?back:RE).focus()
 }
d.addEventListener('keydown',e=>{
 var a=d.activeElement,k=e.key,f,out
 if(!ly)return
 if(k=='Escape')e.preventDefault(),ly>1?show(1,'custom'):(OUT||dc)&&dismiss()
 if(k=='Enter'&&a.type=='checkbox')e.preventDefault(),a.click()
 if(k=='Tab'){
  f=[...D.querySelectorAll('a,button')]
  out=!D.contains(a)||a==D
  if(e.shiftKey?out||a==f[0]:out&&a!=D||a==f.at(-1))e.preventDefault(),f.at(e.shiftKey?-1:0).focus()
 }
},true)

w.Steward={consent:cs,ready,open:()=>whenBody(()=>show(1)),on:(t,f)=>t=='change'&&subs.push(f)}
if(dc||OUT)sync(),resolve(cs())
else activate()
new MutationObserver(ms=>{
 for(var m of ms)for(var n of m.addedNodes)if(n.nodeType==1&&(n.matches(SEL)||n.childElementCount&&n.querySelector(SEL)))return activate()
}).observe(d.documentElement,{childList:true,subtree:true})
if(SIG&&SA[0]&&ld('.g')!=device())record(SA.map(p=>[p.key,'deny']),'gpc',tcfCall('tcString')).then(()=>kp('.g',dev))
dc&&setTimeout(flush,99)
whenBody(()=>dc||!O[0]?OUT&&(ui(),RE.hidden=false):show(1,0,1))
