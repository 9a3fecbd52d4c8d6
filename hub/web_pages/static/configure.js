// The configuration forms, a little friendlier with JavaScript: each field changed since the page was drawn is marked,
// and the board notice counts its characters. Every form works the same without it.
const fields = document.querySelectorAll("#config-form [data-was]");

function current(field) {
  return field.type === "checkbox" ? (field.checked ? "on" : "") : field.value.trim();
}

for (const field of fields) {
  const mark = () => field.classList.toggle("changed", current(field) !== field.dataset.was.trim());
  field.addEventListener("input", mark);
  field.addEventListener("change", mark);
  mark();
}

for (const field of document.querySelectorAll("#config-form input[data-count]")) {
  const count = document.createElement("small");
  count.className = "hint";
  count.setAttribute("aria-live", "polite");
  const show = () => { count.textContent = `${[...field.value].length} / ${field.dataset.count}`; };
  field.after(count);
  field.addEventListener("input", show);
  show();
}
