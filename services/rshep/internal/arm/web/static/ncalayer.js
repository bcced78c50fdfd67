// Signs through NCALayer (or egov ncalayer) on 127.0.0.1:13579: createCMSSignatureFromBase64 with
// PKCS12 storage, a detached CMS. The private key stays on the employee's machine.
(function () {
  function sign(base64, keyType, done, fail) {
    var ws;
    try { ws = new WebSocket("ws://127.0.0.1:13579/"); } catch (e) { fail(); return; }
    var greeted = false;
    ws.onerror = function () { fail(); };
    ws.onmessage = function (ev) {
      var m = JSON.parse(ev.data);
      if (!greeted && m.result && m.result.version) {
        greeted = true;
        ws.send(JSON.stringify({module: "kz.gov.pki.knca.commonUtils", method: "createCMSSignatureFromBase64",
          args: ["PKCS12", keyType, base64, false]}));
        return;
      }
      greeted = true;
      if (m.code === "200" && m.responseObject) { done(m.responseObject); ws.close(); }
      else if (m.code) { fail(m.message || m.code); ws.close(); }
    };
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-sign]");
    if (!b) return;
    ev.preventDefault();
    var off = document.getElementById("ncalayer-off");
    sign(b.dataset.sign, b.dataset.key, function (cms) {
      document.getElementById(b.dataset.target).value = cms;
      b.closest("form").submit();
    }, function () { if (off) off.hidden = false; });
  });
})();
