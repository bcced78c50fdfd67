// Signs through NCALayer (or `egov ncalayer`) on the user's own machine: createCMSSignatureFromBase64
// with PKCS12 storage gives a detached CMS signature; the private key never leaves that machine. The
// signer's address is the page's <meta name="egov-signer">. A button with data-sign (Base64 of the text
// to sign), data-key (AUTHENTICATION or SIGNATURE) and data-target (the id of the field that receives the
// signature) signs and submits its form. When the signer does not answer, #signer-off is shown.
(function () {
  "use strict";
  function signerURL() {
    var m = document.querySelector('meta[name="egov-signer"]');
    return m ? m.content : "ws://127.0.0.1:13579/";
  }
  function sign(base64, keyType, done, fail) {
    var ws, settled = false;
    function once(f, v) { if (!settled) { settled = true; f(v); } }
    try { ws = new WebSocket(signerURL()); } catch (e) { fail(""); return; }
    var greeted = false;
    ws.onerror = function () { once(fail, ""); };
    ws.onclose = function () { once(fail, ""); };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { once(fail, "bad answer"); ws.close(); return; }
      if (!greeted && m.result && m.result.version) {
        greeted = true;
        ws.send(JSON.stringify({module: "kz.gov.pki.knca.commonUtils", method: "createCMSSignatureFromBase64",
          args: ["PKCS12", keyType, base64, false]}));
        return;
      }
      greeted = true;
      if (m.code === "200" && m.responseObject) { once(done, m.responseObject); ws.close(); }
      else if (m.code) { once(fail, m.message || m.code); ws.close(); }
    };
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-sign]");
    if (!b) return;
    ev.preventDefault();
    var off = document.getElementById("signer-off");
    var msg = document.getElementById("signer-error");
    if (off) off.hidden = true;
    if (msg) msg.hidden = true;
    b.disabled = true;
    sign(b.dataset.sign, b.dataset.key, function (cms) {
      document.getElementById(b.dataset.target).value = cms;
      b.closest("form").submit();
    }, function (why) {
      b.disabled = false;
      if (why && msg) { msg.textContent = msg.dataset.prefix + " " + why; msg.hidden = false; }
      else if (off) off.hidden = false;
    });
  });
})();
