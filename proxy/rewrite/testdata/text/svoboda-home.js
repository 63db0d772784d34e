
//a general 'js' detection, must be on top level in <head>, due to CSS performance
document.documentElement.className = "js";
var cacheBuster = "83";
var appBaseUrl = "/";
var imgEnhancerBreakpoints = [0, 144, 256, 408, 650, 1023, 1597];
var isLoggingEnabled = false;

;

var OneSignal = window.OneSignal || [];
OneSignal.push(["init", {
appId: "c388ecc4-a620-4ca6-9bfa-2bee26973ff1",
autoRegister: true,
notifyButton: {
enable: false
},
safari_web_id: 'web.onesignal.auto.1592f4e8-7629-48b3-b916-fa35b5011e11'
}]);

;

if (top.location === self.location) { //if not inside of an IFrame
var renderGtm = "true";
if (renderGtm === "true") {
(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src='//www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-WXZBPZ');
}
}

;

var utag_data={entity:"RFE",language:"Russian",language_service:"RFERL Russian",short_language_service:"RU",property_id:"414",platform:"Responsive",platform_short:"R",runs_js:"Yes",page_title:"Радио Свобода ",page_type:"Homepage",page_name:"Радио Свобода ",short_headline:"Радио Свобода ",long_headline:"Радио Свобода ",headline:"Радио Свобода ",content_type:"Homepage",pub_year:"2018",pub_month:"01",pub_day:"11",pub_hour:"00",pub_minute:"00",pub_weekday:"Thursday",slug:"home-page-svoboda",section:"Радио Свобода ",english_section:"home-page-svoboda"};
if(typeof(TealiumTagFrom)==='function' && typeof(TealiumTagSearchKeyword)==='function') {
var utag_from=TealiumTagFrom();var utag_searchKeyword=TealiumTagSearchKeyword();
if(utag_searchKeyword!=null && utag_searchKeyword!=='' && utag_data["search_keyword"]==null) utag_data["search_keyword"]=utag_searchKeyword;if(utag_from!=null && utag_from!=='') utag_data["from"]=TealiumTagFrom();}
(function(a,b,c,d){ a="https://tags.tiqcdn.com/utag/bbg/rferl-pangea/prod/utag.js"; b=document;c="script";d=b.createElement(c);d.src=a;d.type="text/java"+c;d.async=true; a=b.getElementsByTagName(c)[0];a.parentNode.insertBefore(d,a); })();

;

/*<![CDATA[*/
initInfographics(
{
groups:[],
params:[],
isMobile:true
});

;
renderExternalContent("https://www.youtube.com/embed/Q3Ky4Z1hwQU?autoplay=1&&&fs=1")
;

/*<![CDATA[*/
initInfographics(
{
groups:[],
params:[],
isMobile:true
});

;

/*<![CDATA[*/
initInfographics(
{
groups:[],
params:[],
isMobile:true
});

;

/*<![CDATA[*/
initInfographics(
{
groups:[],
params:[],
isMobile:true
});

;

/*<![CDATA[*/
initInfographics(
{
groups:[],
params:[],
isMobile:true
});

;

/*<![CDATA[*/
initInfographics(
{
groups:[],
params:[],
isMobile:true
});

;

/*<![CDATA[*/
initInfographics(
{
groups:[],
params:[],
isMobile:true
});

;
<!--
d=document;var a='';a+=';r='+escape(d.referrer);js=10;//-->
;
<!--
a+=';j='+navigator.javaEnabled();js=11;//-->
;
<!--
s=screen;a+=';s='+s.width+'*'+s.height;
a+=';d='+(s.colorDepth?s.colorDepth:s.pixelDepth);js=12;//-->
;
<!--
js=13;//-->
;
<!--
d.write('<a href="https://top.mail.ru/jump?from=959355" target="_top">'+
'<img src="https://top-fwz1.mail.ru/counter?id=959355;t=216;js='+js+
a+';rand='+Math.random()+'" alt="Рейтинг@Mail.ru<mailto:Рейтинг@Mail.ru>" border="0" '+
'height="31" width="88"><\/a>');if(11<js)d.write('<'+'!-- ');//-->
;
<!--
if(11<js)d.write('--'+'>');//-->
;
<!--
document.write("<a href='https://www.liveinternet.ru/click' "+
"target=_blank><img src='//counter.yadro.ru/hit?t14.6;r<https://counter.yadro.ru/hit?t14.6;r>"+
escape(document.referrer)+((typeof(screen)=="undefined")?"":
";s"+screen.width+"*"+screen.height+"*"+(screen.colorDepth?
screen.colorDepth:screen.pixelDepth))+";u"+escape(document.URL)+
";h"+escape(document.title.substring(0,80))+";"+Math.random()+
"' alt='' title='LiveInternet: показано число просмотров за 24"+
" часа, посетителей за 24 часа и за сегодня' "+
"border='0' width='88' height='31'><\/a>")
//-->
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
"apiUrl": "http://rfe.pangea-cms.com/publisher/ru-RU/api/frontend/itemdata",
"apiId": "6492",
"apiType": "2",
"isEmbedded": "0",
"cookieName": "cmsLoggedIn",
"cookieDomain": "www.svoboda.org"
};
