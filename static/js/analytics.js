/* ComCEP — /analyses : dessine les graphiques (Chart.js, servi localement) à partir des blocs
 * <script type="application/json"> de la page ; les mêmes chiffres sont dans les tableaux.
 * Aucun script en ligne (CSP script-src 'self'). */
(function () {
  "use strict";

  // Couleurs contrastées (>= 3:1 sur blanc) ; les séries se distinguent aussi par le motif.
  var COLORS = ["#1d3f72", "#b5531a", "#1e6b3a", "#6b3fa0"];
  var numberFormat = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });

  function withUnit(value, unit) {
    return numberFormat.format(value) + (unit ? "\u00a0" + unit : "");
  }

  function dataset(spec, item, index) {
    var color = COLORS[index % COLORS.length];
    var line = spec.type === "line";
    return {
      label: item.label,
      data: item.data,
      backgroundColor: line ? color : color + (index % 2 ? "b3" : "ff"),
      borderColor: color,
      borderWidth: line ? 3 : 1,
      borderDash: line && index % 2 ? [8, 5] : [],
      pointStyle: index % 2 ? "rectRot" : "circle",
      pointRadius: line ? 4 : 0,
      spanGaps: false
    };
  }

  // Long category names on several lines, so that narrow screens do not cut them.
  function wrap(label, width) {
    var lines = [];
    label.split(" ").forEach(function (word) {
      var last = lines.length - 1;
      if (last >= 0 && (lines[last] + " " + word).length <= width) {
        lines[last] += " " + word;
      } else {
        lines.push(word);
      }
    });
    return lines;
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    if (spec.horizontal) {
      var narrow = canvas.parentNode.clientWidth < 400;
      spec.labels = spec.labels.map(function (label) { return wrap(label, narrow ? 16 : 30); });
      var lines = spec.labels.reduce(function (sum, label) { return sum + label.length; }, 0);
      var bars = spec.labels.length * spec.datasets.length;
      canvas.parentNode.style.height = Math.max(320, 100 + 20 * lines + 6 * bars) + "px";
    }
    var valueAxis = spec.horizontal ? "x" : "y";
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      ticks: {
        precision: 0,
        callback: function (value) { return withUnit(value, spec.unit); }
      }
    };
    if (spec.horizontal) {
      scales.y = { ticks: { autoSkip: false } };  // every category named
    }
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (item, index) { return dataset(spec, item, index); })
      },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: "fr-FR",
        scales: scales,
        plugins: {
          legend: { position: "bottom", labels: { usePointStyle: true } },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = spec.horizontal ? context.parsed.x : context.parsed.y;
                return context.dataset.label + " : " + withUnit(value, spec.unit);
              }
            }
          }
        }
      }
    });
  }

  // Le sélecteur de période : saisir une date choisit « Dates choisies ».
  function linkPeriodFields() {
    var preset = document.getElementById("periode");
    ["du", "au"].forEach(function (id) {
      var field = document.getElementById(id);
      if (preset && field) {
        field.addEventListener("change", function () { preset.value = "dates"; });
      }
    });
  }

  function start() {
    linkPeriodFields();
    if (typeof window.Chart === "undefined") { return; }
    window.Chart.defaults.color = "#1f2933";  // texte de la page : contraste >= 4,5:1
    window.Chart.defaults.font.size = 13;
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
