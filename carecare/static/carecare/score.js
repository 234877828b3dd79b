// The assessment form: the score is the sum of the chosen item values, shown as they are chosen
// (the server computes it again; it is never typed).
(function () {
  "use strict";
  var out = document.getElementById("care-score");
  if (!out) { return; }
  var selects = document.querySelectorAll("select.care-item");
  function update() {
    var total = 0, chosen = 0;
    selects.forEach(function (s) {
      if (s.value !== "") { total += parseInt(s.value, 10); chosen += 1; }
    });
    out.textContent = chosen === selects.length ? String(total) : total + " (" + chosen + "/" + selects.length + ")";
  }
  selects.forEach(function (s) { s.addEventListener("change", update); });
  update();
})();
