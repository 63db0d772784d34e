/* Zerkalo demo: Pangea's service worker installer, disabled. */
window.RFE = window.RFE || {};
window.RFE.serviceWorker = false;
