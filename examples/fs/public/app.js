// Runs once the page has loaded, and says on the page what the browser
// got: this script (it runs), the style sheet (the heading takes its
// colour), the picture (it decoded) and a JSON file fetched (its type
// and contents).
window.addEventListener("load", async () => {
  const p = document.getElementById("checked");
  const h1 = getComputedStyle(document.querySelector("h1")).color;
  const style = h1 === "rgb(58, 90, 154)" ? "applied" : "missing (" + h1 + ")";
  const img = document.querySelector("img");
  const picture = img.complete && img.naturalWidth > 0 ? "shown" : "missing";
  let data;
  try {
    const res = await fetch("data.json");
    const type = res.headers.get("Content-Type");
    const body = await res.json();
    data = res.ok && body.served === "fs" ? "read (" + type + ")" : "wrong";
  } catch (e) {
    data = "failed (" + e + ")";
  }
  p.textContent = "The script ran; style " + style + "; picture " + picture + "; data " + data + ".";
  p.className = "ran";
});
