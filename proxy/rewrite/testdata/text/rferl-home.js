
//a general 'js' detection, must be on top level in <head>, due to CSS performance
document.documentElement.className = "js";
var cacheBuster = "83";
var appBaseUrl = "/";
var imgEnhancerBreakpoints = [0, 144, 256, 408, 650, 1023, 1597];
var isLoggingEnabled = false;

;

var OneSignal = window.OneSignal || [];
OneSignal.push(["init", {
appId: "dcba9732-9d59-46ec-aea0-e487e980e249",
autoRegister: true,
notifyButton: {
enable: false
},
safari_web_id: 'web.onesignal.auto.14c30330-c4fb-483f-9c66-942ad147f917'
}]);

;

if (top.location === self.location) { //if not inside of an IFrame
var renderGtm = "true";
if (renderGtm === "true") {
(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src='//www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-WXZBPZ');
}
}

;

var utag_data={entity:"RFE",language:"English",language_service:"RFERL English",short_language_service:"ENG",property_id:"420",platform:"Responsive",platform_short:"R",runs_js:"Yes",page_title:"newhomepage4column",page_type:"Homepage",page_name:"newhomepage4column",short_headline:"newhomepage4column",long_headline:"newhomepage4column",headline:"newhomepage4column",content_type:"Homepage",pub_year:"2018",pub_month:"01",pub_day:"09",pub_hour:"00",pub_minute:"00",pub_weekday:"Tuesday",slug:"newhomepage4column",section:"newhomepage4column",english_section:"newhomepage4column"};
if(typeof(TealiumTagFrom)==='function' && typeof(TealiumTagSearchKeyword)==='function') {
var utag_from=TealiumTagFrom();var utag_searchKeyword=TealiumTagSearchKeyword();
if(utag_searchKeyword!=null && utag_searchKeyword!=='' && utag_data["search_keyword"]==null) utag_data["search_keyword"]=utag_searchKeyword;if(utag_from!=null && utag_from!=='') utag_data["from"]=TealiumTagFrom();}
(function(a,b,c,d){ a="https://tags.tiqcdn.com/utag/bbg/rferl-pangea/prod/utag.js"; b=document;c="script";d=b.createElement(c);d.src=a;d.type="text/java"+c;d.async=true; a=b.getElementsByTagName(c)[0];a.parentNode.insertBefore(d,a); })();

;

//test ie 6, 7, 8
var div = document.createElement("div");
div.innerHTML = "<!--[if lte IE 8]><i></i><![endif]-->";
var isIe8orLower = !!div.getElementsByTagName("i").length;
if (!isIe8orLower && !navigator.userAgent.match(/Opera Mini/i)) {
document.getElementsByTagName("body")[0].className += " can-ff";
}
// mobile browsers test
if (RFE.isMobile.any()) {
document.getElementsByTagName("body")[0].className += " is-mobile";
}
else {
document.getElementsByTagName("body")[0].className += " is-not-mobile";
}

;

var bar_data = {
"apiUrl": "http://rfe.pangea-cms.com/publisher/en-US/api/frontend/itemdata",
"apiId": "6482",
"apiType": "2",
"isEmbedded": "0",
"cookieName": "cmsLoggedIn",
"cookieDomain": "www.rferl.org"
};
