// The board's only script: sortable tables and the period picker. No libraries, no network.
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

document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.sortable")) makeSortable(table);
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
});
