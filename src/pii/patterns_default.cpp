// Generated from data/pii/default.json by data/pii/embed.sh; do not edit.
#include <string_view>

namespace bastion::pii {
extern const std::string_view kDefaultPiiPatternsJson;
const std::string_view kDefaultPiiPatternsJson = R"json({
  "format": "bastion-pii/1",
  "comment": "Default PII recognizers. Each anchor is a Vectorscan regex that finds a cheap candidate; the named C++ validator expands and confirms it. Native anchors are the scanner's own vectorised pass (digit runs for numbers, colons between hex digits for IPv6). The number recognizer also finds IBANs (they all hold a digit run); an explicit iban anchor is [A-Z]{2}[0-9]{2}. See src/pii/patterns.hpp for the format.",
  "anchors": [
    {"validator": "email", "regex": "@"},
    {"validator": "korean_name", "regex": "님"},
    {"validator": "korean_name", "regex": "씨"},
    {"validator": "number", "native": true},
    {"validator": "ipv6", "native": true},
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
    "오늘님", "이번님", "모든님", "우리님", "주님", "달님", "해님", "별님", "임님", "님",
    "볍씨", "종씨", "호박씨", "수박씨", "사과씨", "포도씨", "고추씨", "참깨씨", "들깨씨", "배추씨",
    "민원", "고객", "이웃", "주인", "정원", "장미", "호박", "조상", "부모", "신랑", "신부", "사장",
    "이사", "기사", "원장", "반장", "기장", "선장", "도사", "소장", "공주", "왕자", "임금", "부인",
    "여사", "노인", "진행자", "사회자", "상담원", "직원", "회원", "사용자", "관리자", "작성자",
    "담당자", "주민", "시민", "국민", "구독자", "시청자", "청취자", "독자", "학부모", "학생", "선배",
    "후배", "동생", "언니", "오빠", "이모", "고모", "삼촌", "사촌", "조카", "손자", "손녀", "아들",
    "남편", "아내", "부장", "차장", "과장", "대리", "주임", "사원", "인턴", "교수", "박사", "석사",
    "의사", "약사", "변호사", "판사", "검사", "세무사", "회계사", "노무사", "법무사", "감독", "코치",
    "선수", "작가", "기자", "가수", "배우", "모델", "목사", "수녀", "전도사", "장로", "집사", "권사",
    "장인", "장모", "사모", "도련", "서방", "형제", "자매", "친구", "애인",
    "여보", "당신", "자기", "누구", "아무", "어느", "이분", "그분", "저분", "모두", "여러", "우리",
    "안내", "문의", "상담", "연락", "전화", "방문", "예약", "주문", "배송", "결제", "환불", "반품",
    "공지", "운영", "관리", "진행", "사회", "심사", "위원", "회장", "총장", "국장", "실장", "팀장",
    "대표", "전무", "상무", "이장", "통장", "동장", "구청장", "시장", "도지사", "장관", "차관",
    "의원", "대통령", "총리", "선생", "원님", "사또", "나으리", "마님", "아씨", "도령"
  ],
  "patterns": {}
}
)json";
}  // namespace bastion::pii
