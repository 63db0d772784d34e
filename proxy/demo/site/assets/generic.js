/* Zerkalo demo stand-in for a Pangea script bundle. */
window.RFE = window.RFE || {};
window.RFE.demo = true;
