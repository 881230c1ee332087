// The board's only script: sortable tables, the search box that filters a table as one types,
// the compare picker, the period picker and the movie player.
// No libraries, no network.
"use strict";

function cellValue(row, index, numeric) {
  const cell = row.cells[index];
  if (!cell) return numeric ? -Infinity : "";
  const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
  if (!numeric) return raw.toLowerCase();
  // Empty numbers (no estimate) sort below every real value.
  return raw === "" ? -Infinity : Number(raw);
}

function sortTable(table, header) {
  const index = Array.prototype.indexOf.call(header.parentNode.children, header);
  const numeric = header.dataset.sort === "number";
  // First click: text ascending, numbers descending (the largest is usually the question).
  const current = header.getAttribute("aria-sort");
  const ascending = current ? current !== "ascending" : !numeric;
  for (const other of header.parentNode.children) other.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = cellValue(a, index, numeric);
    const y = cellValue(b, index, numeric);
    const order = x < y ? -1 : x > y ? 1 : 0;
    return ascending ? order : -order;
  });
  for (const row of rows) body.appendChild(row);
}

function makeSortable(table) {
  for (const header of table.querySelectorAll("thead th[data-sort]")) {
    header.tabIndex = 0;
    header.classList.add("sort");
    header.title = "Sort by this column";
    header.addEventListener("click", () => sortTable(table, header));
    header.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        sortTable(table, header);
      }
    });
  }
}

// Every word typed must be found in a row's data-search text (the model, its vendor and
// capacity, lower case): the same rule as the server's for /models?q=.
function makeFilter(input) {
  const table = document.querySelector(input.dataset.filter);
  if (!table) return;
  const count = document.querySelector(`[data-count-for="${input.dataset.filter}"]`);
  const rows = Array.from(table.tBodies[0].rows);
  const apply = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const text = row.dataset.search || row.textContent.toLowerCase();
      const match = words.every((word) => text.includes(word));
      row.hidden = !match;
      if (match) shown += 1;
    }
    if (count) count.textContent = `${shown} of ${rows.length} models`;
  };
  input.addEventListener("input", apply);
  // Enter keeps the filter on this page rather than reloading it.
  input.form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  apply();
}

// The compare button works with two to five ticked models; more boxes cannot be ticked.
function makePicker(form) {
  const boxes = Array.from(document.querySelectorAll(`input[type=checkbox][form="${form.id}"]`));
  const button = form.querySelector("button[type=submit]");
  const note = form.querySelector("#compare-note");
  const fewest = Number(form.dataset.fewest);
  const most = Number(form.dataset.most);
  const update = () => {
    const ticked = boxes.filter((box) => box.checked).length;
    for (const box of boxes) box.disabled = !box.checked && ticked >= most;
    button.disabled = ticked < fewest;
    if (note) note.textContent = `${ticked} ticked; compare ${fewest} to ${most}`;
  };
  for (const box of boxes) box.addEventListener("change", update);
  update();
}

// The movie's controls sit under the picture, so they never hide the date drawn in it.
function makePlayer(video) {
  const play = document.getElementById("play");
  const seek = document.getElementById("seek");
  const clock = document.getElementById("clock");
  const toggle = () => (video.paused ? video.play() : video.pause());
  play.addEventListener("click", toggle);
  video.addEventListener("click", toggle);
  video.addEventListener("play", () => { play.textContent = "Pause"; play.setAttribute("aria-label", "Pause"); });
  video.addEventListener("pause", () => { play.textContent = "Play"; play.setAttribute("aria-label", "Play"); });
  video.addEventListener("timeupdate", () => {
    if (video.duration) seek.value = Math.round((1000 * video.currentTime) / video.duration);
    clock.textContent = `${video.currentTime.toFixed(1)} / ${(video.duration || 0).toFixed(1)} s`;
  });
  seek.addEventListener("input", () => {
    if (video.duration) video.currentTime = (seek.value / 1000) * video.duration;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const video = document.getElementById("movie");
  if (video) makePlayer(video);
  for (const table of document.querySelectorAll("table.sortable")) makeSortable(table);
  for (const input of document.querySelectorAll("input[data-filter]")) makeFilter(input);
  const picker = document.querySelector("form#compare");
  if (picker) makePicker(picker);
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
});
