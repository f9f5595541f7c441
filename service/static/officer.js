// Upload with drag and drop and a progress bar. Without JavaScript the plain form works.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("dateien");
  const zone = document.getElementById("dropzone");
  const bar = document.getElementById("fortschritt");
  ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.remove("over"); }));
  zone.addEventListener("drop", (e) => {
    input.files = e.dataTransfer.files;
    zone.querySelector("span").textContent = input.files.length + " Datei(en) ausgewählt";
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    bar.hidden = false;
    xhr.upload.addEventListener("progress", (ev) => { if (ev.lengthComputable) bar.value = ev.loaded / ev.total; });
    xhr.addEventListener("load", () => {
      if (xhr.status < 400) { window.location.href = xhr.responseURL; return; }
      // refused before the page could answer (too large, session expired): say why, stay here
      let detail = "Hochladen fehlgeschlagen (" + xhr.status + ")";
      try { detail = JSON.parse(xhr.responseText).detail || detail; } catch (err) { /* not JSON */ }
      bar.hidden = true;
      const note = document.getElementById("upload-fehler");
      note.textContent = detail;
      note.hidden = false;
    });
    xhr.send(new FormData(form));
  });
})();
