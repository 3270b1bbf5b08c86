import type { SeededRandom } from './seeded-random.ts';

const WORDS = [
  '자연',
  '하늘',
  '바다',
  '숲',
  '봄날',
  '달빛',
  '햇살',
  '미소',
  '소담',
  '다온',
  '라온',
  '가온',
  '해담',
  '나래',
  '보람',
  '새봄',
  '푸른',
  '맑은',
  '고운',
  '한결',
  '초록',
  '꽃잎',
  '별빛',
  '이음',
  '온새미로',
  '도담',
  '아라',
  '여울',
  '윤슬',
  '마루',
  '단비',
  '늘봄',
  '시나브로',
  '하람',
  '누리',
  '제주',
  '강릉',
  '전주',
  '한라',
  '설악',
];
const SYLLABLES = [
  '가',
  '나',
  '다',
  '라',
  '마',
  '바',
  '사',
  '아',
  '자',
  '하',
  '온',
  '솔',
  '린',
  '윤',
  '담',
  '빛',
  '결',
  '휘',
  '예',
  '율',
  '찬',
  '슬',
  '로',
  '미',
  '도',
  '연',
  '채',
  '서',
  '준',
  '민',
  '해',
  '별',
  '숨',
  '비',
  '유',
];
const SUFFIXES_BY_CATEGORY: Record<string, readonly string[]> = {
  'dc:1': ['뷰티', '코스메틱', '스킨', '랩', '뷰티랩', '향수공방'],
  'dc:2': ['푸드', '농원', '제과', '베이커리', '팜', '키친', '수산', '정육', '떡집', '커피'],
  'dc:3': ['스튜디오', '웨어', '슈즈', '옷장', '패션', '아뜰리에'],
  'dc:4': ['리빙', '하우스', '생활', '홈', '가구', '살림'],
  'dc:5': ['여행', '투어', '캠핑', '스테이', '항공'],
  'dc:6': ['키즈', '맘', '베이비', '토이', '아이'],
  'dc:7': ['전자', '디지털', '테크', '모바일', '가전'],
  'dc:8': ['스포츠', '아웃도어', '골프', '피싱', '공방'],
  'dc:9': ['컬처', '북스', '아트', '뮤직', '티켓'],
};
const LATIN_FIRST = [
  'Aurora',
  'Blue',
  'Mellow',
  'Urban',
  'Nature',
  'Pure',
  'Daily',
  'Green',
  'Lumi',
  'Nord',
  'Sunny',
  'Mono',
  'Haru',
  'Seoul',
  'Jeju',
  'Olive',
  'Cozy',
  'Maru',
  'Bloom',
  'Hanok',
];
const LATIN_SECOND = [
  'Lab',
  'Studio',
  'Market',
  'Kitchen',
  'Beauty',
  'Farm',
  'Co.',
  'Home',
  'Table',
  'Bakery',
  'Wear',
  'Works',
];

/**
 * A plausible Korean shop name: mostly Hangul (a word or invented syllables plus a trade suffix),
 * some Latin, some mixed, some with spaces — the mix real channel names show.
 */
export function brandName(random: SeededRandom, category: string): string {
  const suffixes = SUFFIXES_BY_CATEGORY[category] ?? ['상점'];
  const roll = random.next();
  if (roll < 0.3) return `${random.pick(WORDS)}${random.pick(suffixes)}`;
  if (roll < 0.5) {
    const length = random.int(2, 3);
    let name = '';
    for (let i = 0; i < length; i += 1) name += random.pick(SYLLABLES);
    return random.chance(0.5) ? name : `${name}${random.pick(suffixes)}`;
  }
  if (roll < 0.65) return `${random.pick(WORDS)} ${random.pick(WORDS)} ${random.pick(suffixes)}`;
  if (roll < 0.8) return `${random.pick(LATIN_FIRST)} ${random.pick(LATIN_SECOND)}`;
  if (roll < 0.9) return `${random.pick(WORDS)} ${random.pick(LATIN_SECOND)}`;
  return `${random.pick(LATIN_FIRST).toUpperCase()}${random.pick(['', ' KOREA', ' OFFICIAL', '&CO'])}`;
}
