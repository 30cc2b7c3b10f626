// Generated from data/pii/default.json by data/pii/embed.sh; do not edit.
#include <string_view>

namespace bastion::pii {
extern const std::string_view kDefaultPiiPatternsJson;
const std::string_view kDefaultPiiPatternsJson = R"json({
  "format": "bastion-pii/1",
  "comment": "Default PII recognizers. Each anchor is a Vectorscan regex that finds a cheap candidate; the named C++ validator expands and confirms it. The number anchor also finds IBANs (they all hold a digit run); an explicit iban anchor is [A-Z]{2}[0-9]{2}. See src/pii/patterns.hpp for the format.",
  "anchors": [
    {"validator": "email", "regex": "@"},
    {"validator": "korean_name", "regex": "님"},
    {"validator": "korean_name", "regex": "씨"},
    {"validator": "number", "regex": "[0-9]{3}[-. ]?[0-9]{2}"},
    {"validator": "number", "regex": "[0-9]\\.[0-9]{1,3}\\.[0-9]"},
    {"validator": "ipv6", "regex": "::"},
    {"validator": "ipv6", "regex": "[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:"},
    {"validator": "aws_access_key", "regex": "(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}"},
    {"validator": "bearer", "regex": "bearer ", "caseless": true},
    {"validator": "jwt", "regex": "eyJ"},
    {"validator": "private_key", "regex": "-----BEGIN "},
    {"validator": "github_token", "regex": "gh[pousr]_"},
    {"validator": "github_token", "regex": "github_pat_"},
    {"validator": "slack_token", "regex": "xox[abposr]-"}
  ],
  "secret_keys": [
    "api_key", "apikey", "api-key", "api_secret", "secret_key", "client_secret",
    "access_token", "auth_token", "refresh_token", "private_key", "aws_secret_access_key",
    "password", "passwd", "pwd", "secret", "token"
  ],
  "korean_surnames": [
    "김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권",
    "황", "안", "송", "류", "유", "전", "홍", "고", "문", "양", "손", "배", "백", "허", "남",
    "심", "노", "하", "곽", "성", "차", "주", "우", "구", "민", "진", "나", "지", "엄", "채",
    "원", "천", "방", "공", "현", "함", "변", "염", "여", "추", "도", "소", "석", "선", "설",
    "마", "길", "연", "위", "표", "명", "기", "반", "왕", "금", "옥", "육", "인", "맹", "제",
    "모", "탁", "국", "어", "은", "편", "용", "예", "경", "봉", "사", "부", "가", "복", "태",
    "목", "형", "피", "두", "감", "음", "빈", "동", "온", "호", "범", "좌", "팽", "승", "간",
    "상", "시", "갈", "서문", "남궁", "제갈", "선우", "황보", "독고", "사공", "동방", "을지"
  ],
  "name_stop_words": [
    "날씨", "솜씨", "맵씨", "맵시", "마음씨", "맘씨", "말씨", "글씨", "불씨", "홀씨", "꽃씨", "씨앗",
    "아저씨", "아가씨", "발씨", "눈씨", "손씨", "여러분",
    "고객님", "선생님", "회장님", "사장님", "부장님", "차장님", "과장님", "대리님", "이사님",
    "박사님", "교수님", "원장님", "기사님", "팀장님", "실장님", "소장님", "국장님", "총장님",
    "감독님", "작가님", "목사님", "신부님", "수녀님", "스님", "하느님", "하나님", "부처님",
    "임금님", "공주님", "왕자님", "손님", "주인님", "어머님", "아버님", "할머님", "할아버님",
    "형님", "누님", "선배님", "후배님", "회원님", "담당자님", "관리자님", "운영자님", "변호사님",
    "의사님", "간호사님", "조교님", "강사님", "위원님", "의원님", "장관님", "대표님", "전무님",
    "상무님", "주무관님", "방장님", "구독자님", "시청자님", "학생님", "사모님", "도련님",
    "아드님", "따님", "서방님", "시어머님", "장인어른님", "부모님", "조상님", "신랑님", "신부님",
    "사용자님", "판매자님", "구매자님", "주주님", "교장님", "반장님", "점장님", "매니저님",
    "오늘님", "이번님", "모든님", "우리님", "주님", "달님", "해님", "별님", "임님", "님"
  ],
  "patterns": {}
}
)json";
}  // namespace bastion::pii
