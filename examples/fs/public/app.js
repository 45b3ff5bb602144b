// Marks the page once the script has been served and run.
const p = document.getElementById("checked");
p.textContent = "The script ran.";
p.className = "ran";
