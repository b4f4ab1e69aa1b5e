() => {
  // A click on a [n] citation in the chat opens and highlights source card n.
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
    const details = card.querySelector("details");
    if (details) details.open = true;
    card.scrollIntoView({ behavior: "smooth", block: "center" });
  }, true);
}
