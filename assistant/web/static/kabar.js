() => {
  // A click on a [n] citation in the chat opens and highlights that answer's source card n
  // (card ids name the answer and n), opening the answer's group if it was collapsed.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a.kabar-cite");
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    // The chat's sanitizer keeps href but drops data-* attributes: the card id is the anchor.
    const card = document.getElementById((link.getAttribute("href") || "").replace(/^#/, ""));
    if (!card) return;
    document.querySelectorAll(".kabar-card.kabar-active").forEach((c) => c.classList.remove("kabar-active"));
    card.classList.add("kabar-active");
    const group = card.closest("details.kabar-answer");
    if (group) group.open = true;
    const details = card.querySelector("details");
    if (details) details.open = true;
    card.scrollIntoView({ behavior: "smooth", block: "center" });
  }, true);

  // Gradio's own widget texts ("Drop File Here", the footer) follow its locale, which it takes
  // from the browser. The interface-language radio sets that locale too, through Gradio's
  // `changeLocale` in the already-loaded core module (found by its asset name, not hard-coded).
  const localeOf = { "Bahasa Indonesia": "id", "English": "en" };
  const setLocale = (code) => {
    const core = performance.getEntriesByType("resource")
      .map((e) => e.name)
      .find((name) => /\/assets\/core-[\w-]+\.js$/.test(name));
    document.documentElement.lang = code;
    if (!core) return;
    import(core).then((m) => m.changeLocale && m.changeLocale(code)).catch(() => {});
  };
  const current = () => {
    const checked = document.querySelector("#kabar-ui-lang input:checked");
    return localeOf[checked ? checked.value : "Bahasa Indonesia"] || "id";
  };
  document.addEventListener("change", (event) => {
    // The event's own input: Gradio updates the radios' checked state only after it.
    if (!event.target.closest || !event.target.closest("#kabar-ui-lang")) return;
    setLocale(localeOf[event.target.value] || current());
  }, true);
  setLocale(current());
}
