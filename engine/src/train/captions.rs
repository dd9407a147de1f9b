//! Captions from file paths. Sound libraries name their files after what is heard
//! (`audio/actor/fauna/animal/chickens_2.ogg`), so the words of the path, most specific first,
//! are a usable description; library plumbing (`audio`, `sounds`, `data`, numbers, takes) is
//! dropped. Paths that say a file is speech or music are excluded from sound-effect training.

/// Path words that carry no meaning about the sound.
const PLUMBING: &[&str] = &[
    "usr",
    "share",
    "games",
    "game",
    "data",
    "core",
    "public",
    "audio",
    "sound",
    "sounds",
    "sfx",
    "fx",
    "effects",
    "effect",
    "snd",
    "wav",
    "ogg",
    "flac",
    "mp3",
    "default",
    "stamps",
    "common",
    "misc",
    "mods",
    "mod",
    "the",
    "of",
    "and",
    "a",
    "an",
    "to",
    "in",
    "on",
    "for",
    "with",
    "no",
    "megaglest",
    "wesnoth",
    "tuxpaint",
    "0ad",
    "ad",
    "lib",
    "assets",
    "res",
    "resources",
    "new",
    "old",
    "alt",
    "var",
    "version",
    "final",
    "mono",
    "stereo",
    "loop",
    "short",
    "long",
    "big",
    "small",
    "med",
    "sm",
    "lg",
    "tech",
    "techs",
    "faction",
    "factions",
    "units",
    "unit",
    "actor",
    "actors",
    "global",
    "generic",
    "interface",
    "ui",
    "sample",
    "samples",
    "take",
    "sounds16",
    "megapack",
    "commondata",
    "seasonal",
    "symbols",
    "singlesteps",
    // names of the games the recordings come from, and their folders
    "ufoai",
    "openttd",
    "opensfx",
    "scorched",
    "globalmods",
    "apoc",
    "none",
    "lincity",
    "ng",
    "openclonk",
    "clonk",
    "openarena",
    "btanks",
    "ardentryst",
    "nyx",
    "pyr",
    "etr",
    "extremetuxracer",
    "lugaru",
    "nexuiz",
    "flare",
    "fantasycore",
    "empyrean",
    "campaign",
    "soundfx",
    "widelands",
    "warmux",
    "redeclipse",
    "endless",
    "sky",
    "morph",
    "maps",
    "world",
    "player",
    "other",
];

/// Audio file extensions (a file name may repeat them, `x_desc_da.ogg.ogg`: all are stripped).
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "ogg", "flac", "mp3", "opus", "aif", "aiff", "m4a"];

/// Library abbreviations spelled out.
const SPELLED: &[(&str, &str)] = &[
    ("fs", "footsteps"),
    ("swordhit", "sword hit"),
    ("amb", "ambience"),
    ("exp", "explosion"),
    ("pkup", "pickup"),
    ("strt", "start"),
    ("ugv", "ground vehicle"),
    ("trafic", "traffic"),
    ("croud", "crowd"),
    ("con", "construction"),
    ("jav", "javelin"),
    ("ele", "elephant"),
    ("watr", "water"),
    ("ric", "ricochet"),
    ("ricoche", "ricochet"),
    ("kam", "kamikaze"),
];

/// Path words that mark speech or music: not sound effects.
const EXCLUDED: &[&str] = &[
    "voice",
    "voices",
    "speech",
    "dialog",
    "dialogue",
    "vo",
    "narration",
    "narrator",
    "music",
    "song",
    "songs",
    "theme",
    "themes",
    "soundtrack",
    "score",
    "tracks",
    "ambient_music",
    "menu",
    "cutscene",
    "attention",
    "acknowledge",
    "acknowledgement",
    "select",
    "selected",
    "order",
    "orders",
    "yes",
    "ok",
    "speak",
    "talk",
    "taunt",
    "tutorial",
    "announcer",
    "hurt_voice",
    "chant",
    "sing",
    "singing",
    "choir",
    "alarm",
    "ack",
    "alphabets",
    "alphabet",
    "letters",
    "math",
    "tunes",
    "jingle",
    "jingles",
    "fanfare",
    "anthem",
    "victory",
    // radio and television voices
    "radiomessage",
    "newswav",
    "voi",
    "npc",
    "npcs",
    // character voice packs: team messages, replies
    "coms",
    "confirm",
    "decline",
    "doubt",
    "coverme",
    "letsgo",
    "needhelp",
    "flagseen",
    "hooah",
    "teamshoot",
    "waypoint",
];

/// File-name suffixes of spoken descriptions (`dog_desc.ogg`, `dog_fr.ogg`, `dog_en_GB.ogg`).
const LANGUAGES: &[&str] = &[
    "desc", "en", "fr", "ru", "ro", "ca", "bg", "es", "be", "el", "da", "gb", "lt", "nl", "tw",
    "sv", "pt", "nn", "nb", "ko", "ja", "de", "sl", "it", "ml", "zh", "pl", "cs", "fi", "hu", "tr",
    "uk", "he", "ar", "br", "eu", "gl", "id", "ms", "th", "vi", "hr", "sk", "sr", "et", "lv",
];

/// Whether a file stem names a spoken description in some language.
fn is_spoken_description(stem: &str) -> bool {
    let parts: Vec<String> = stem.split('_').map(str::to_lowercase).collect();
    let lang = |s: &str| LANGUAGES.contains(&s);
    match parts.as_slice() {
        [.., a, b] if lang(a) && b.len() == 2 => true,
        [_, .., last] => lang(last),
        _ => false,
    }
}

/// Words of a path component: split on separators, camelCase and digits, lowercased.
pub fn words(component: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in component.chars() {
        if !ch.is_alphabetic() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_lowercase();
        cur.extend(ch.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The caption of a sound at `relative` (a path inside the library, `/`-separated), or why it
/// is not a sound effect. Words run from the file name up to the top folder, each once.
pub fn caption_from_path(relative: &str) -> Result<String, String> {
    let mut stem = relative.rsplit_once('.').map_or(relative, |(s, _)| s);
    while let Some((s, ext)) = stem.rsplit_once('.')
        && AUDIO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    {
        stem = s;
    }
    let components: Vec<&str> = stem.split(['/', '\\']).filter(|c| !c.is_empty()).collect();
    if components
        .last()
        .is_some_and(|file| is_spoken_description(file))
    {
        return Err("a spoken description".into());
    }
    let mut all = Vec::new();
    for c in components.iter().rev() {
        let lower = c.to_lowercase();
        if EXCLUDED.iter().any(|x| lower == *x) {
            return Err(format!("`{c}` marks speech or music"));
        }
        for w in words(c) {
            if EXCLUDED.contains(&w.as_str()) {
                return Err(format!("`{w}` marks speech or music"));
            }
            all.push(w);
        }
    }
    let mut kept: Vec<String> = Vec::new();
    let all = all.into_iter().flat_map(|w| {
        let spelled = SPELLED.iter().find(|(k, _)| *k == w).map(|(_, v)| *v);
        match spelled {
            Some(v) => v.split(' ').map(str::to_string).collect(),
            None => vec![w],
        }
    });
    for w in all {
        if w.len() < 2 || PLUMBING.contains(&w.as_str()) || kept.contains(&w) {
            continue;
        }
        kept.push(w);
    }
    kept.truncate(8);
    if kept.is_empty() {
        return Err("the path has no descriptive words".into());
    }
    Ok(kept.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_run_from_the_file_up() {
        assert_eq!(
            caption_from_path("0ad-data/audio/actor/fauna/animal/chickens_2.ogg").unwrap(),
            "chickens animal fauna"
        );
        assert_eq!(
            caption_from_path("sfx/Footsteps/stepGravel03.wav").unwrap(),
            "step gravel footsteps"
        );
    }

    #[test]
    fn speech_and_music_are_excluded() {
        assert!(caption_from_path("units/peasant/voice/yes1.ogg").is_err());
        assert!(caption_from_path("music/battle_theme.ogg").is_err());
        assert!(caption_from_path("audio/123.wav").is_err());
        assert!(caption_from_path("stamps/animals/dog_desc.ogg").is_err());
        assert!(caption_from_path("stamps/animals/dog_fr.ogg").is_err());
        assert!(caption_from_path("stamps/animals/dog_en_GB.ogg").is_err());
        assert_eq!(
            caption_from_path("stamps/animals/dog.ogg").unwrap(),
            "dog animals"
        );
        // a repeated extension still ends in the language suffix
        assert!(caption_from_path("stamps/town/inukshuk-photo_desc_da.ogg.ogg").is_err());
        // music, jingles and character voice packs
        assert!(caption_from_path("btanks-data/games/btanks/data/tunes/glory.ogg").is_err());
        assert!(caption_from_path("ufoai-sound/sound/ambience/jingle2.ogg").is_err());
        assert!(caption_from_path("ardentryst/Sounds/VOI_Intro_1.ogg").is_err());
        assert!(caption_from_path("flare/soundfx/npcs/male_merchant_01.ogg").is_err());
        assert!(caption_from_path("nexuiz-data/sound/player/marine/coms/attack.ogg").is_err());
        assert!(caption_from_path("nexuiz-data/sound/player/torus/coverme.ogg").is_err());
        assert!(caption_from_path("openclonk-data/Clonk/Skin/Farmer/Confirm1.wav").is_err());
        assert!(caption_from_path("ufoai-sound/sound/ambience/radiomessage.ogg").is_err());
        // grunts are effects
        assert_eq!(
            caption_from_path("nexuiz-data/sound/player/marine/player/pain50.ogg").unwrap(),
            "pain marine"
        );
    }

    #[test]
    fn game_names_are_dropped_and_abbreviations_spelled() {
        assert_eq!(
            caption_from_path("lincity-ng-data/games/lincity-ng/sounds/TraficHigh2.wav").unwrap(),
            "traffic high"
        );
        assert_eq!(
            caption_from_path("openclonk-data/Hits/Materials/Glass/GlassHit1.ogg").unwrap(),
            "glass hit materials hits"
        );
        assert_eq!(
            caption_from_path("ardentryst/games/ardentryst/Sounds/AMB_Intro_3.ogg").unwrap(),
            "ambience intro"
        );
        assert_eq!(
            caption_from_path("openarena-data/sound/player/watr_out.wav").unwrap(),
            "water out"
        );
        assert_eq!(
            caption_from_path("0ad-data/audio/resource/construction/con_wood_05.ogg").unwrap(),
            "construction wood resource"
        );
    }
}
